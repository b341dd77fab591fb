import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { compileScriptConfig, type CompiledScript, type ScriptEntry } from '../../src/actions/script/config.js';
import { locateScriptConfig, ScriptConfigStore } from '../../src/actions/script/config-store.js';
import { ParError } from '../../src/errors/par-error.js';
import { toCredentials } from '../../src/actions/credentials.js';
import { tempDir } from '../helpers/tmp.js';

const V1 = 'script-credentials-v1';

function fileProblem(doc: unknown): string {
  const r = compileScriptConfig(doc);
  assert.equal(r.ok, false, 'expected the file to be refused');
  return r.problem;
}

function entry(doc: unknown, name: string, section: 'scripts' | 'powershellScripts' = 'scripts'): ScriptEntry {
  const r = compileScriptConfig(doc);
  assert.ok(r.ok, r.ok ? '' : r.problem);
  const e = r.config[section].get(name);
  assert.ok(e, `no entry ${name}`);
  return e;
}

function script(doc: unknown, name: string, section: 'scripts' | 'powershellScripts' = 'scripts'): CompiledScript {
  const e = entry(doc, name, section);
  assert.ok(e.ok, e.ok ? '' : e.problem);
  return e.script;
}

function broken(command: unknown[] | Record<string, unknown>, extra: Record<string, unknown> = {}): string {
  const e = entry(
    {
      schemaId: V1,
      runPredefinedScript: { bad: Array.isArray(command) ? { command, ...extra } : command, good: { command: ['/bin/true'] } },
    },
    'bad',
  );
  assert.equal(e.ok, false, 'expected the entry to be broken');
  // The other entry of the file still works.
  assert.equal(
    entry(
      {
        schemaId: V1,
        runPredefinedScript: { bad: Array.isArray(command) ? { command, ...extra } : command, good: { command: ['/bin/true'] } },
      },
      'good',
    ).ok,
    true,
  );
  return e.problem;
}

describe('script config: compile', () => {
  it('compiles the seed format: scripts, schemas, env allowlists', () => {
    const doc = {
      schemaId: V1,
      runPredefinedScript: {
        echo: {
          command: ['/bin/echo', '{{ parameters.msg }}'],
          parameterSchema: { type: 'object', properties: { msg: { type: 'string' } }, required: ['msg'] },
          allowedEnvVars: ['HOME'],
        },
        uptime: { command: ['uptime'] },
      },
      runPredefinedPowershellScript: { disk: { command: ['/opt/disk.ps1'] } },
    };
    const echo = script(doc, 'echo');
    assert.equal(echo.program, '/bin/echo');
    assert.deepEqual(echo.allowedEnvVars, ['HOME']);
    assert.equal(echo.validate?.({ msg: 'hi' }), true);
    assert.equal(echo.validate({}), false);
    assert.equal(script(doc, 'uptime').validate, undefined);
    assert.equal(script(doc, 'disk', 'powershellScripts').program, '/opt/disk.ps1');
  });

  it('the whole file is refused only for a wrong schemaId or a non-mapping document', () => {
    assert.match(fileProblem({ runPredefinedScript: {} }), /schemaId/);
    assert.match(fileProblem({ schemaId: 'script-credentials-v2' }), /schemaId: must be "script-credentials-v1"/);
    assert.match(fileProblem(['a']), /mapping/);
    assert.match(fileProblem(null), /mapping/);
  });

  it('ignores keys the vendor does not know, in the file and in entries', () => {
    const doc = {
      schemaId: V1,
      version: 3,
      comment: 'x',
      runPredefinedScript: { a: { command: ['/bin/echo', 'a'], description: 'says a', timeout: 5, shell: true } },
    };
    assert.equal(script(doc, 'a').program, '/bin/echo');
  });

  it('a missing or null section is an empty one', () => {
    const r = compileScriptConfig({ schemaId: V1, runPredefinedScript: null });
    assert.ok(r.ok);
    assert.equal(r.config.scripts.size, 0);
    assert.equal(r.config.powershellScripts.size, 0);
  });

  const brokenEntries: Array<[string, unknown[] | Record<string, unknown>, Record<string, unknown>, RegExp]> = [
    ['a templated program', ['{{ parameters.bin }}'], {}, /command\.0: must be fixed/],
    ['an empty command', [], {}, /command: must list at least the program/],
    ['an empty program', [''], {}, /command\.0: must not be empty/],
    ['a command that is not a list', { command: '/bin/x' }, {}, /command: must be a list/],
    ['a nested list in command', ['/bin/x', ['a']], {}, /command\.1: must be a string/],
    ['a helper in a placeholder', ['/bin/x', '{{ parameters.a | sh }}'], {}, /command\.1: /],
    ['a block', ['/bin/x', '{{#if parameters.a}}x{{/if}}'], {}, /command\.1: .*blocks/],
    ['an unterminated placeholder', ['/bin/x', '{{ parameters.a'], {}, /command\.1: .*unclosed/],
    ['a partial', ['/bin/x', '{{> p }}'], {}, /partials/],
    [
      'a bad JSON Schema',
      ['/bin/x'],
      { parameterSchema: { properties: { a: { type: 'nope' } } } },
      /parameterSchema: not a valid JSON Schema/,
    ],
    ['a parameterSchema that is not a mapping', ['/bin/x'], { parameterSchema: 'x' }, /parameterSchema: must be a mapping/],
    ['a bad env name', ['/bin/x'], { allowedEnvVars: ['A=B'] }, /allowedEnvVars\.0/],
    ['env names not a list', ['/bin/x'], { allowedEnvVars: 'HOME' }, /allowedEnvVars: must be a list/],
    ['an entry that is not a mapping', { not: 'used' }, {}, /command: must be a list/],
  ];
  for (const [what, command, extra, expected] of brokenEntries) {
    it(`${what} breaks only that entry, with its own message`, () => {
      assert.match(broken(command, extra), expected);
    });
  }

  it('a bad script name breaks only that entry', () => {
    const e = entry(
      { schemaId: V1, runPredefinedScript: { 'bad name!': { command: ['/bin/x'] }, ok: { command: ['/bin/x'] } } },
      'bad name!',
    );
    assert.equal(e.ok, false);
    assert.match(e.problem, /script names/);
  });

  it('only properties and required of parameterSchema count, as an object schema', () => {
    const s = script(
      {
        schemaId: V1,
        runPredefinedScript: {
          a: {
            command: ['/bin/x'],
            parameterSchema: { type: 'array', additionalProperties: false, properties: { n: { type: 'integer' } }, required: ['n'] },
          },
        },
      },
      'a',
    );
    assert.equal(s.validate?.({ n: 1, extra: true }), true, 'additionalProperties and type are not copied');
    assert.equal(s.validate({ n: 'x' }), false);
    assert.equal(s.validate({}), false);
    assert.equal(s.validate([1]), false, 'parameters are always an object');
  });

  const formats: Array<[string, string, string]> = [
    ['email', 'ops@example.com', 'not-an-email'],
    ['uri', 'https://example.com/x', 'no scheme'],
    ['date-time', '2026-11-27T10:00:00Z', '27/11/2026'],
    ['date', '2026-11-27', '2026-13-40'],
    ['ipv4', '10.1.2.3', '10.1.2'],
    ['hostname', 'db-1.internal', 'bad host!'],
    ['uuid', '6f1c2a4e-1b2c-4d3e-8f90-123456789abc', 'nope'],
  ];
  for (const [format, good, bad] of formats) {
    it(`validates format ${format}`, () => {
      const s = script(
        {
          schemaId: V1,
          runPredefinedScript: { a: { command: ['/bin/x'], parameterSchema: { properties: { v: { type: 'string', format } } } } },
        },
        'a',
      );
      assert.equal(s.validate?.({ v: good }), true, good);
      assert.equal(s.validate({ v: bad }), false, bad);
    });
  }

  it('keywords the validator does not know are ignored, not an error', () => {
    const s = script(
      {
        schemaId: V1,
        runPredefinedScript: {
          a: { command: ['/bin/x'], parameterSchema: { properties: { v: { type: 'string', maxLenght: 3, 'x-ui': 'select' } } } },
        },
      },
      'a',
    );
    assert.equal(s.validate?.({ v: 'long value' }), true);
  });

  it('inline and file PowerShell entries, and either-or', () => {
    const doc = {
      schemaId: V1,
      runPredefinedPowershellScript: {
        inline: { script: 'Write-Output "{{ parameters.name }}"' },
        file: { file: 'C:/scripts/a.ps1', arguments: ['{{ parameters.x }}', 5] },
        both: { script: 'x', file: 'y.ps1' },
        neither: { arguments: ['a'], file: '' },
        templatedFile: { file: '{{ parameters.f }}' },
      },
    };
    assert.ok(script(doc, 'inline', 'powershellScripts').inline);
    const f = script(doc, 'file', 'powershellScripts');
    assert.equal(f.program, 'C:/scripts/a.ps1');
    assert.equal(f.args.length, 2);
    for (const [name, why] of [
      ['both', /not both/],
      ['neither', /not neither/],
      ['templatedFile', /file: must be fixed/],
    ] as const) {
      const e = entry(doc, name, 'powershellScripts');
      assert.equal(e.ok, false, name);
      assert.match(e.problem, why);
    }
  });

  it('a script connection credential file is accepted by the credential parser and carries nothing', () => {
    assert.deepEqual(toCredentials({ schemaId: 'script-credentials-v1', runPredefinedScript: {} }), {
      ok: true,
      value: { authType: 'Script Config' },
    });
  });
});

describe('script config: YAML source text of command elements', () => {
  let dir: { path: string; remove(): Promise<void> };
  before(async () => {
    dir = await tempDir('script-yaml');
  });
  after(async () => {
    await dir.remove();
  });

  const cases: Array<[string, string]> = [
    ['5', '5'],
    ['true', 'true'],
    ['1.50', '1.50'],
    ['0x1F', '0x1F'],
    ['1e3', '1e3'],
    ['007', '007'],
    ['-0', '-0'],
    ['"quoted"', 'quoted'],
    ["'single'", 'single'],
    ['yes', 'yes'],
  ];
  for (const [yaml, expected] of cases) {
    it(`an unquoted ${yaml} stays ${JSON.stringify(expected)}`, async () => {
      const file = `c-${Math.random().toString(36).slice(2)}.yaml`;
      await writeFile(
        join(dir.path, file),
        `schemaId: script-credentials-v1\nrunPredefinedScript:\n  a:\n    command: [/bin/echo, ${yaml}]\n`,
      );
      const config = await new ScriptConfigStore().load(locateScriptConfig(dir.path, file, undefined));
      const e = config.scripts.get('a');
      assert.ok(e?.ok);
      assert.deepEqual(e.script.args, [[{ kind: 'text', text: expected }]]);
    });
  }
});

describe('script config: store', () => {
  let dir: { path: string; remove(): Promise<void> };
  before(async () => {
    dir = await tempDir('script-config');
  });
  after(async () => {
    await dir.remove();
  });

  const good = (name: string) => `schemaId: script-credentials-v1\nrunPredefinedScript:\n  ${name}:\n    command: ["/bin/echo", "hi"]\n`;

  it('parses once per file version and picks up an edit', async () => {
    const store = new ScriptConfigStore();
    const path = join(dir.path, 'cached.yaml');
    await writeFile(path, good('first'));
    const loc = locateScriptConfig(dir.path, 'cached.yaml', undefined);
    const a = await store.load(loc);
    const b = await store.load(loc);
    assert.equal(a, b, 'the same compiled config is reused while the file is unchanged');
    await writeFile(path, good('second'));
    await utimes(path, new Date(), new Date(Date.now() + 5_000));
    const c = await store.load(loc);
    assert.notEqual(c, a);
    assert.deepEqual([...c.scripts.keys()], ['second']);
  });

  it('a malformed file is a clear non-retryable error naming the file, never its values', async () => {
    const store = new ScriptConfigStore();
    await writeFile(
      join(dir.path, 'broken.yaml'),
      'schemaId: script-credentials-v1\nrunPredefinedScript:\n  x: {command: ["/bin/echo", "sup3rsecret"\n',
    );
    await writeFile(
      join(dir.path, 'wrong.yaml'),
      'schemaId: script-credentials-v1\nrunPredefinedScript:\n  x:\n    command: "sup3rsecret"\n',
    );
    const wrong = (await store.load(locateScriptConfig(dir.path, 'wrong.yaml', undefined))).scripts.get('x');
    assert.equal(wrong?.ok, false, 'a wrong entry is broken alone');
    assert.doesNotMatch(wrong.problem, /sup3rsecret/);
    for (const file of ['broken.yaml', 'absent.yaml']) {
      await assert.rejects(store.load(locateScriptConfig(dir.path, file, undefined)), (e: unknown) => {
        assert.ok(e instanceof ParError);
        assert.equal(e.code, 'PAR_ERR_SCRIPT_CONFIG_INVALID');
        assert.equal(e.retryable, false);
        assert.match(e.message, new RegExp(file.replace('.', '\\.')));
        assert.doesNotMatch(e.message, /sup3rsecret/);
        return true;
      });
    }
  });

  it('uses a script connection credential file, confined to the config dir', async () => {
    const store = new ScriptConfigStore();
    await mkdir(join(dir.path, 'credentials'), { recursive: true });
    await writeFile(join(dir.path, 'credentials', 'scripts.yaml'), good('fromConnection'));
    const conn = { id: 'c1', integration: 'script', credentialPath: 'credentials/scripts.yaml' };
    const config = await store.load(locateScriptConfig(dir.path, 'script-config.yaml', conn));
    assert.deepEqual([...config.scripts.keys()], ['fromConnection']);

    // An http connection's file is not a script config: the worker file is used.
    assert.equal(
      locateScriptConfig(dir.path, 'script-config.yaml', { id: 'c2', integration: 'http', credentialPath: 'x.json' }).label,
      'script-config.yaml',
    );

    const outside = await tempDir('script-outside');
    try {
      await writeFile(join(outside.path, 'evil.yaml'), good('evil'));
      await symlink(join(outside.path, 'evil.yaml'), join(dir.path, 'credentials', 'link.yaml'));
      for (const credentialPath of ['../evil.yaml', join(outside.path, 'evil.yaml'), 'credentials/link.yaml']) {
        await assert.rejects(
          store.load(locateScriptConfig(dir.path, 'script-config.yaml', { id: 'c3', integration: 'script', credentialPath })),
          /outside the config dir|absolute paths|"\.\." segments/,
        );
      }
    } finally {
      await outside.remove();
    }
  });
});
