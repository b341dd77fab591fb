/**
 * The file and path rules of `readConfigFile` (src/actions/config-file.ts): what is refused, with
 * which code, and that nothing blocks (a FIFO with no writer, /dev/zero) or reads past the cap.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { confinedPath, readConfigFile } from '../../src/actions/config-file.js';
import { ParError } from '../../src/errors/par-error.js';
import { tempDir } from '../helpers/tmp.js';

describe('readConfigFile', () => {
  let dir: { path: string; remove(): Promise<void> };
  let outside: { path: string; remove(): Promise<void> };
  const read = (path: string, extra: Partial<Parameters<typeof readConfigFile>[0]> = {}) =>
    readConfigFile({ configDir: dir.path, path, confine: true, failCode: 'PAR_ERR_CREDENTIALS_UNAVAILABLE', ...extra });
  const code = async (p: Promise<unknown>): Promise<string> => {
    try {
      await p;
    } catch (error) {
      assert.ok(error instanceof ParError, String(error));
      return error.code;
    }
    return 'resolved';
  };

  before(async () => {
    dir = await tempDir('config-file');
    outside = await tempDir('config-file-outside');
    await mkdir(join(dir.path, 'credentials', 'sub'), { recursive: true });
    await writeFile(join(dir.path, 'credentials', 'ok.json'), '{"a":1}');
    await writeFile(join(outside.path, 'secret.json'), 'OUTSIDE-SECRET');
    await symlink(join(outside.path, 'secret.json'), join(dir.path, 'credentials', 'out-link.json'));
    await symlink(join(dir.path, 'credentials', 'ok.json'), join(dir.path, 'credentials', 'in-link.json'));
    await symlink('../ok.json', join(dir.path, 'credentials', 'sub', 'relative-in-link.json'));
    execFileSync('mkfifo', [join(dir.path, 'credentials', 'fifo.json')]);
    await symlink('/dev/zero', join(dir.path, 'credentials', 'zero.json'));
    await writeFile(join(dir.path, 'credentials', 'big.json'), 'x'.repeat(2048));
  });
  after(async () => {
    await dir.remove();
    await outside.remove();
  });

  it('reads a regular file inside the dir, with a version that changes with the file', async () => {
    const first = await read('credentials/ok.json');
    assert.equal(first.text, '{"a":1}');
    await writeFile(join(dir.path, 'credentials', 'ok.json'), '{"a":22}');
    const second = await read('credentials/ok.json');
    assert.equal(second.text, '{"a":22}');
    assert.notEqual(first.version, second.version);
  });

  it('symlinks that stay inside the config dir are followed', async () => {
    assert.match((await read('credentials/in-link.json')).text, /"a"/);
    assert.match((await read('credentials/sub/relative-in-link.json')).text, /"a"/);
  });

  it('absolute paths, ".." segments and symlinks out are PAR_ERR_FILE_PATH_OUTSIDE_CONFIG_DIR', async () => {
    for (const path of [
      join(dir.path, 'credentials', 'ok.json'),
      '/etc/passwd',
      '../x.json',
      'credentials/../credentials/ok.json',
      'credentials\\..\\..\\x',
      'credentials/out-link.json',
      'a\0b',
    ]) {
      assert.equal(await code(read(path)), 'PAR_ERR_FILE_PATH_OUTSIDE_CONFIG_DIR', path);
    }
    assert.throws(() => confinedPath(dir.path, '..'), /PAR_ERR|outside|".."/);
  });

  it('a FIFO with no writer, /dev/zero (through a symlink) and a directory are PAR_ERR_FILE_NOT_REGULAR, at once', async () => {
    const started = Date.now();
    assert.equal(await code(read('credentials/fifo.json')), 'PAR_ERR_FILE_NOT_REGULAR');
    assert.equal(await code(read('credentials')), 'PAR_ERR_FILE_NOT_REGULAR');
    assert.equal(
      await code(readConfigFile({ configDir: '/', path: '/dev/zero', confine: false, failCode: 'PAR_ERR_SCRIPT_CONFIG_INVALID' })),
      'PAR_ERR_FILE_NOT_REGULAR',
    );
    assert.ok(Date.now() - started < 4000, 'nothing waited for a writer or read a device');
  });

  it('a symlink to /dev/zero inside the dir is refused as leaving the dir', async () => {
    assert.equal(await code(read('credentials/zero.json')), 'PAR_ERR_FILE_PATH_OUTSIDE_CONFIG_DIR');
  });

  it('a file over the cap is PAR_ERR_FILE_TOO_LARGE; a missing file keeps the reader code', async () => {
    assert.equal(await code(read('credentials/big.json', { maxBytes: 1024 })), 'PAR_ERR_FILE_TOO_LARGE');
    assert.equal(await code(read('credentials/none.json')), 'PAR_ERR_CREDENTIALS_UNAVAILABLE');
    assert.equal(await code(read('credentials/none.json', { failCode: 'PAR_ERR_K8S_CONFIG_INVALID' })), 'PAR_ERR_K8S_CONFIG_INVALID');
  });

  it('an aborted signal ends the read with PAR_ERR_TASK_CANCELLED', async () => {
    assert.equal(await code(read('credentials/ok.json', { signal: AbortSignal.abort() })), 'PAR_ERR_TASK_CANCELLED');
  });

  it('errors name the path, never the contents', async () => {
    try {
      await read('credentials/out-link.json');
      assert.fail('resolved');
    } catch (error) {
      assert.ok(!(error as Error).message.includes('OUTSIDE-SECRET'));
      assert.match((error as Error).message, /credentials\/out-link\.json/);
    }
  });
});
