/**
 * The script sandbox's pure parts and start-up checks: the bwrap argv (what the box holds and
 * never holds), path visibility, PAR_SCRIPT_USER / PAR_SCRIPT_SANDBOX_BIND validation, the worker
 * settings, and the worker-secret scrub.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { bwrapArgs, isVisible, isWithin, STATUS_FD, type BwrapSandbox } from '../../src/actions/script/sandbox.js';
import { checkBinds, resolveScriptUser } from '../../src/actions/script/sandbox-setup.js';
import { loadWorkerConfig } from '../../src/config/worker.js';
import { isWorkerSecretEnv, scrubWorkerEnv, withoutWorkerSecrets } from '../../src/config/worker-secrets.js';
import { ParError } from '../../src/errors/par-error.js';
import { tempDir } from '../helpers/tmp.js';

const base: BwrapSandbox = {
  kind: 'bwrap',
  bwrap: '/usr/bin/bwrap',
  userNamespace: true,
  layout: { topLevel: [{ path: '/bin', symlinkTo: 'usr/bin' }, { path: '/lib64' }], etc: ['/etc/passwd', '/etc/ssl/certs'] },
  configDir: '/etc/dd-action-runner/config',
  binds: [],
};

/** The operands of every `flag` occurrence (`--ro-bind a b` -> [a, b]). */
function operands(argv: string[], flag: string, arity: number): string[][] {
  const out: string[][] = [];
  const end = argv.indexOf('--');
  for (let i = 0; i < end; i++) if (argv[i] === flag) out.push(argv.slice(i + 1, i + 1 + arity));
  return out;
}

function configError(fn: () => unknown, setting: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof ParError && e.code === 'PAR_ERR_CONFIG_INVALID' && setting.test(e.message));
}

async function rejectsConfig(p: Promise<unknown>, setting: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => e instanceof ParError && e.code === 'PAR_ERR_CONFIG_INVALID' && setting.test(e.message));
}

describe('bwrapArgs', () => {
  it('builds a PID-namespaced, capability-free box that dies with bwrap and reports on fd 3', () => {
    const argv = bwrapArgs(base, '/bin/cat', ['--', '/proc/1/environ']);
    for (const flag of ['--unshare-pid', '--die-with-parent', '--new-session', '--unshare-ipc', '--unshare-uts', '--unshare-user'])
      assert.ok(argv.includes(flag), flag);
    assert.deepEqual(operands(argv, '--cap-drop', 1), [['ALL']]);
    assert.deepEqual(operands(argv, '--proc', 1), [['/proc']]);
    assert.deepEqual(operands(argv, '--tmpfs', 1), [['/tmp']]);
    assert.deepEqual(operands(argv, '--chdir', 1), [['/tmp']]);
    assert.deepEqual(operands(argv, '--json-status-fd', 1), [[String(STATUS_FD)]]);
    // The command follows `--` untouched, so an argument that looks like a bwrap option stays an argument.
    assert.deepEqual(argv.slice(argv.indexOf('--')), ['--', '/bin/cat', '--', '/proc/1/environ']);
  });

  it('shows /usr, the top-level dirs as on the host, the listed /etc entries, read-only; never the config dir', () => {
    const argv = bwrapArgs(base, 'true', []);
    assert.deepEqual(operands(argv, '--ro-bind', 2), [
      ['/usr', '/usr'],
      ['/lib64', '/lib64'],
      ['/etc/passwd', '/etc/passwd'],
      ['/etc/ssl/certs', '/etc/ssl/certs'],
    ]);
    assert.deepEqual(operands(argv, '--symlink', 2), [['usr/bin', '/bin']]);
    assert.equal(operands(argv, '--bind', 2).length, 0, 'no writable bind');
    assert.ok(
      !argv.slice(0, argv.indexOf('--')).some((a) => isWithin(a, base.configDir)),
      'the config dir is not mentioned: it is simply absent',
    );
    assert.ok(!argv.includes('/etc/shadow') && !argv.includes('/etc'), 'not the whole /etc');
  });

  it('without a user namespace (root, userns disabled) still drops every capability', () => {
    const argv = bwrapArgs({ ...base, userNamespace: false }, 'true', []);
    assert.ok(!argv.includes('--unshare-user'));
    assert.deepEqual(operands(argv, '--cap-drop', 1), [['ALL']]);
  });

  it('covers the config dir with a read-only tmpfs when a bound path would show it, and mounts exposures in between', () => {
    const sandbox = { ...base, binds: ['/etc/dd-action-runner'] };
    const argv = bwrapArgs(
      sandbox,
      '/etc/dd-action-runner/config/scripts/run.sh',
      [],
      [{ source: '/etc/dd-action-runner/config/scripts/run.sh', target: '/etc/dd-action-runner/config/scripts/run.sh' }],
    );
    const bind = argv.indexOf('/etc/dd-action-runner');
    const tmpfs = argv.findIndex((a, i) => a === '--tmpfs' && argv[i + 1] === base.configDir);
    const expose = argv.findIndex((a, i) => a === '--ro-bind' && argv[i + 1] === '/etc/dd-action-runner/config/scripts/run.sh');
    const remount = argv.findIndex((a, i) => a === '--remount-ro' && argv[i + 1] === base.configDir);
    assert.ok(bind > 0 && bind < tmpfs && tmpfs < expose && expose < remount && remount < argv.indexOf('--'), argv.join(' '));
  });

  it('shares the host network unless asked to isolate it', () => {
    assert.ok(!bwrapArgs(base, 'true', []).includes('--unshare-net'));
    const argv = bwrapArgs({ ...base, isolateNetwork: true }, 'true', []);
    assert.ok(argv.indexOf('--unshare-net') >= 0 && argv.indexOf('--unshare-net') < argv.indexOf('--'));
  });

  it('adds the operator binds read-only', () => {
    const argv = bwrapArgs({ ...base, binds: ['/opt/scripts', '/run/systemd'] }, 'true', []);
    const binds = operands(argv, '--ro-bind', 2);
    assert.deepEqual(binds.slice(-2), [
      ['/opt/scripts', '/opt/scripts'],
      ['/run/systemd', '/run/systemd'],
    ]);
  });
});

describe('visibility', () => {
  it('isWithin compares whole path segments', () => {
    assert.ok(isWithin('/usr/bin/x', '/usr'));
    assert.ok(isWithin('/usr', '/usr'));
    assert.ok(!isWithin('/usr2/x', '/usr'));
    assert.ok(isWithin('/anything', '/'));
    assert.ok(!isWithin('/etc/passwd-', '/etc/passwd'));
  });

  it('isVisible: /usr and binds yes, /opt no, the config dir never (even under a bind)', () => {
    assert.ok(isVisible(base, '/usr/bin/cat'));
    assert.ok(isVisible(base, '/lib64/ld-linux-x86-64.so.2'));
    assert.ok(isVisible(base, '/etc/ssl/certs/ca.pem'));
    assert.ok(!isVisible(base, '/etc/shadow'));
    assert.ok(!isVisible(base, '/opt/scripts/x.sh'));
    assert.ok(!isVisible(base, '/bin/cat'), '/bin is a symlink: what counts is where it leads');
    const withBind = { ...base, binds: ['/etc/dd-action-runner'] };
    assert.ok(isVisible(withBind, '/etc/dd-action-runner/other'));
    assert.ok(!isVisible(withBind, '/etc/dd-action-runner/config/config.yaml'));
  });
});

describe('start-up validation', () => {
  it('PAR_SCRIPT_USER: names from passwd, uid and uid:gid; unknown users and root refused; a non-root worker cannot switch', async () => {
    const dir = await tempDir('script-user');
    try {
      const passwdFile = join(dir.path, 'passwd');
      await writeFile(passwdFile, 'root:x:0:0:root:/root:/bin/sh\nscripts:x:1234:2345::/nonexistent:/usr/sbin/nologin\n');
      const host = { uid: 0, passwdFile };
      assert.deepEqual(await resolveScriptUser('scripts', host), { name: 'scripts', uid: 1234, gid: 2345 });
      assert.deepEqual(await resolveScriptUser('1500', host), { name: '1500', uid: 1500, gid: 1500 });
      assert.deepEqual(await resolveScriptUser('1500:1600', host), { name: '1500:1600', uid: 1500, gid: 1600 });
      await rejectsConfig(resolveScriptUser('nobody-here', host), /^.*PAR_SCRIPT_USER: no user "nobody-here"/);
      await rejectsConfig(resolveScriptUser('root', host), /PAR_SCRIPT_USER: must not be root/);
      await rejectsConfig(resolveScriptUser('0:1234', host), /PAR_SCRIPT_USER: must not be root/);
      await rejectsConfig(resolveScriptUser('1234:0', host), /PAR_SCRIPT_USER: must not be root/);
      await rejectsConfig(resolveScriptUser('scripts', { uid: 1000, passwdFile }), /PAR_SCRIPT_USER: .*needs the worker to run as root/);
      assert.deepEqual(
        await resolveScriptUser('scripts', { uid: 1234, passwdFile }),
        { name: 'scripts', uid: 1234, gid: 2345 },
        'its own uid needs no switch',
      );
    } finally {
      await dir.remove();
    }
  });

  it('PAR_SCRIPT_SANDBOX_BIND: existing absolute paths outside the config dir, not / or /proc', async () => {
    const dir = await tempDir('script-binds');
    try {
      const configDir = join(dir.path, 'config');
      await mkdir(join(configDir, 'credentials'), { recursive: true });
      await mkdir(join(dir.path, 'scripts'));
      assert.deepEqual(await checkBinds([join(dir.path, 'scripts'), '/usr/share'], configDir), [join(dir.path, 'scripts'), '/usr/share']);
      assert.deepEqual(await checkBinds([dir.path], configDir), [dir.path], 'an ancestor is fine: the config dir gets covered');
      await rejectsConfig(checkBinds(['relative/dir'], configDir), /PAR_SCRIPT_SANDBOX_BIND: relative\/dir: must be an absolute path/);
      await rejectsConfig(checkBinds([join(dir.path, 'missing')], configDir), /PAR_SCRIPT_SANDBOX_BIND: .*does not exist/);
      await rejectsConfig(checkBinds([join(configDir, 'credentials')], configDir), /PAR_SCRIPT_SANDBOX_BIND: .*inside the config dir/);
      await rejectsConfig(checkBinds([configDir], configDir), /inside the config dir/);
      await rejectsConfig(checkBinds(['/'], configDir), /PAR_SCRIPT_SANDBOX_BIND: .*undo the sandbox/);
      await rejectsConfig(checkBinds(['/proc/self'], configDir), /undo the sandbox/);
    } finally {
      await dir.remove();
    }
  });

  it('worker settings: defaults, and bad values named by their variable', () => {
    const config = loadWorkerConfig({});
    assert.equal(config.scriptSandbox, 'auto');
    assert.equal(config.scriptUser, undefined);
    assert.deepEqual(config.scriptSandboxBind, []);
    const set = loadWorkerConfig({
      PAR_SCRIPT_SANDBOX: 'bwrap',
      PAR_SCRIPT_USER: 'scripts',
      PAR_SCRIPT_SANDBOX_BIND: '/opt/scripts, /run/systemd',
    });
    assert.deepEqual([set.scriptSandbox, set.scriptUser, set.scriptSandboxBind], ['bwrap', 'scripts', ['/opt/scripts', '/run/systemd']]);
    configError(() => loadWorkerConfig({ PAR_SCRIPT_SANDBOX: 'firejail' }), /PAR_SCRIPT_SANDBOX/);
    configError(() => loadWorkerConfig({ PAR_SCRIPT_SANDBOX_BIND: 'opt/scripts' }), /PAR_SCRIPT_SANDBOX_BIND: must be absolute/);
    assert.equal(config.scriptSandboxNetwork, 'host');
    assert.equal(loadWorkerConfig({ PAR_SCRIPT_SANDBOX_NETWORK: 'none' }).scriptSandboxNetwork, 'none');
    configError(() => loadWorkerConfig({ PAR_SCRIPT_SANDBOX_NETWORK: 'loopback' }), /PAR_SCRIPT_SANDBOX_NETWORK/);
  });
});

describe('worker secrets', () => {
  it('scrubWorkerEnv removes keys, tokens, the Redis URL and the identity, and names the ones that should never have been set', () => {
    const env: Record<string, string | undefined> = {
      PATH: '/usr/bin',
      HOME: '/home/w',
      DD_API_KEY: 'a',
      DD_APP_KEY: 'b',
      PAR_ADMIN_API_KEY: 'c',
      PAR_ADMIN_APP_KEY: 'd',
      PAR_ENROLLMENT_TOKEN: 'e',
      REDIS_URL: 'redis://x',
      PAR_RUNNER_IDENTITY: 'f',
      OTHER: 'g',
    };
    const forbidden = scrubWorkerEnv(env);
    assert.deepEqual(forbidden.sort(), ['DD_API_KEY', 'DD_APP_KEY', 'PAR_ADMIN_API_KEY', 'PAR_ADMIN_APP_KEY', 'PAR_ENROLLMENT_TOKEN']);
    assert.deepEqual(env, { PATH: '/usr/bin', HOME: '/home/w', OTHER: 'g' });
    assert.deepEqual(scrubWorkerEnv(env), [], 'idempotent');
  });

  it('withoutWorkerSecrets copies the rest, leaving the original alone', () => {
    const env = { PATH: '/usr/bin', DD_API_KEY: 'a', PAR_REDIS_URL: 'redis://x', KEEP: 'k' };
    assert.deepEqual(withoutWorkerSecrets(env), { PATH: '/usr/bin', KEEP: 'k' });
    assert.equal(env.DD_API_KEY, 'a');
    assert.ok(isWorkerSecretEnv('DD_APP_KEY') && !isWorkerSecretEnv('HOME'));
  });
});
