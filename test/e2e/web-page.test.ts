/**
 * The control plane's web page in headless Chromium against the real system (control plane,
 * enrolled runner, worker): sign in with an app key, see the runner Ready with its allowlist
 * and recent task, read a task's result, create a runner (token + snippets), see what a Viewer
 * sees, and delete a runner so its identity stops working. Screenshots: test-output/web/.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { RUNNER_API } from '../../src/contracts/runner-api.js';
import { importSigningKey } from '../../src/crypto/keys.js';
import { RunnerTokenMinter } from '../../src/crypto/runner-token.js';
import { readIdentity } from '../../src/lib/identity-file.js';
import { startSystem, type System } from '../helpers/system.js';
import { startTargetServer, type TargetServer } from '../helpers/target-server.js';

const SHOTS = fileURLToPath(new URL('../../test-output/web/', import.meta.url));
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
const UI_TIMEOUT_MS = 15_000;
/** Markup a task output and an allowlist carry: it must show up as text and never run. */
const HOSTILE = '<img src=x onerror="window.__pwned=1">';
/** The same for an allowlist entry (the page splits entries at spaces, so none here). */
const HOSTILE_ENTRY = '<svg/onload=window.__pwned=1>';

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

async function call(system: System, method: string, path: string, body?: unknown, appKey = system.keys.appKey): Promise<Answer> {
  const res = await fetch(`${system.cpUrl}${path}`, {
    method,
    headers: { 'dd-application-key': appKey, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text.length > 0 ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

async function expectOk(answer: Promise<Answer>, what: string, status = 200): Promise<Record<string, unknown>> {
  const a = await answer;
  assert.equal(a.status, status, `${what}: ${JSON.stringify(a.body)}`);
  return a.body;
}

describe('web page in headless Chromium', () => {
  let system: System;
  let target: TargetServer;
  let browser: Browser;
  let adminContext: BrowserContext;
  let admin: Page;
  let runnerId: string;
  let taskId: string;

  const shot = async (page: Page, name: string): Promise<void> => {
    await page.screenshot({ path: `${SHOTS}${name}.png`, fullPage: true });
  };

  const signIn = async (page: Page, key: string): Promise<void> => {
    await page.goto(`${system.cpUrl}/`);
    await page.locator('#app-key').fill(key);
    await page.getByRole('button', { name: 'Sign in' }).click();
  };

  /** Script errors and CSP violations of every page (a refused fetch is expected, and not one). */
  const pageProblems: string[] = [];
  const watch = (page: Page): Page => {
    page.setDefaultTimeout(UI_TIMEOUT_MS);
    page.on('pageerror', (error) => pageProblems.push(`pageerror: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error' && !message.text().startsWith('Failed to load resource'))
        pageProblems.push(`console: ${message.text()}`);
    });
    return page;
  };

  const row = (page: Page, name: string) => page.locator(`[data-testid="runner-row"][data-runner-name="${name}"]`);

  before(async () => {
    await mkdir(SHOTS, { recursive: true });
    target = await startTargetServer();
    target.route('/hello', (_req, res) => {
      res.setHeader('content-type', 'text/html');
      res.end(`${HOSTILE}<b>hello from inside</b>`);
    });
    system = await startSystem({ workers: 1 });
    const identity = await readIdentity(system.configDir);
    assert.ok(identity, 'the runner enrolled');
    runnerId = identity.runnerId;
    const task = await system.api.submitTask({
      runner: system.runnerName,
      action: 'com.datadoghq.http.request',
      inputs: { verb: 'GET', url: `${target.url}/hello` },
      timeoutMs: 10_000,
    });
    const done = await system.api.waitForTask(task.id, 20_000);
    assert.equal(done.state, 'succeeded', JSON.stringify(done.outcome));
    taskId = task.id;
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
    adminContext = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    admin = watch(await adminContext.newPage());
  });

  after(async () => {
    await browser.close();
    await system.stop();
    await target.close();
  });

  test('a wrong key is refused with a clear message and the key prompt again', async () => {
    await admin.goto(`${system.cpUrl}/`);
    await admin.locator('#signin').waitFor({ state: 'visible' });
    await signIn(admin, 'not-a-valid-application-key');
    await admin.locator('#banner').getByText('refused').waitFor();
    assert.equal(await admin.locator('#signin').isVisible(), true);
    assert.equal(await admin.locator('[data-testid="runner-row"]').count(), 0);
    assert.equal(await admin.evaluate('sessionStorage.getItem("par.appKey")'), null, 'a refused key is not kept');
    await shot(admin, 'signin-refused');
  });

  test('the admin sees the runner Ready, with its allowlist and its recent task', async () => {
    await signIn(admin, system.keys.appKey);
    const r = row(admin, system.runnerName);
    await r.getByTestId('runner-status').getByText('Ready').waitFor();
    assert.equal((await r.getByTestId('runner-allowlist').textContent())?.trim(), 'com.datadoghq.http.request');
    await r.getByTestId('recent-tasks').getByText('Succeeded').waitFor();
    assert.match((await r.getByTestId('recent-tasks').textContent()) ?? '', /http\.request/);
    assert.match((await admin.getByTestId('who').textContent()) ?? '', /admin/i);
    assert.equal(await admin.locator('#signin').isVisible(), false);
    await shot(admin, 'runner-list');
  });

  test("a runner's page shows its tasks and results, as text", async () => {
    await row(admin, system.runnerName).getByTestId('runner-link').click();
    await admin.waitForURL(`**/runners/${runnerId}`);
    assert.equal(await admin.getByTestId('runner-name').textContent(), system.runnerName);
    const task = admin.locator(`[data-testid="task-row"][data-task-id="${taskId}"]`);
    await task.getByTestId('task-state').getByText('Succeeded').waitFor();
    await task.getByTestId('task-result').locator('summary').click();
    const output = (await task.getByTestId('task-output').textContent()) ?? '';
    assert.match(output, /"status": 200/);
    assert.ok(output.includes(HOSTILE.replaceAll('"', '\\"')), 'the HTML of the output is shown as text');
    assert.equal(await admin.locator('[data-testid="tasks"] img').count(), 0, 'no element was made from the output');
    assert.equal(await admin.evaluate('window.__pwned'), undefined);
    await shot(admin, 'runner-detail');
  });

  test('creating a runner shows its one-time token and the four snippets', async () => {
    await admin.goto(`${system.cpUrl}/`);
    await admin.getByTestId('new-runner').click();
    await admin.locator('#new-runner-name').fill('web-created');
    await admin.locator('#new-runner-allowlist').fill(`com.datadoghq.http.*\n${HOSTILE_ENTRY}`);
    await admin.getByRole('button', { name: 'Create runner' }).click();
    const token = ((await admin.getByTestId('enrollment-token').textContent()) ?? '').trim();
    assert.ok(token.length >= 20, `token: ${token}`);
    for (const key of ['dockerRun', 'compose', 'kubernetes', 'parRunner']) {
      const text = (await admin.getByTestId(`snippet-${key}`).locator('pre').textContent()) ?? '';
      assert.ok(text.includes(token), `${key} snippet carries the token`);
    }
    const created = row(admin, 'web-created');
    await created.getByTestId('runner-status').getByText('Never connected').waitFor();
    assert.ok(
      ((await created.getByTestId('runner-allowlist').textContent()) ?? '').includes(HOSTILE_ENTRY),
      'allowlist markup shown as text',
    );
    assert.equal(await created.locator('svg, img').count(), 0);
    assert.equal(await admin.evaluate('window.__pwned'), undefined);
    await shot(admin, 'runner-created');
  });

  test("a never-connected runner's page issues a new enrollment token and deletes the runner", async () => {
    const first = ((await admin.getByTestId('enrollment-token').textContent()) ?? '').trim();
    await row(admin, 'web-created').getByTestId('runner-link').click();
    await admin.getByTestId('runner-name').getByText('web-created').waitFor();
    await admin.getByTestId('new-token').click();
    const second = ((await admin.getByTestId('enrollment-token').textContent()) ?? '').trim();
    assert.ok(second.length >= 20 && second !== first, 'a fresh token');
    assert.ok(((await admin.getByTestId('snippet-parRunner').textContent()) ?? '').includes(second));
    await shot(admin, 'new-token');
    const createdId = new URL(admin.url()).pathname.split('/').pop() ?? '';
    await admin.getByTestId('delete-runner').click();
    await admin.getByTestId('confirm-delete').click();
    await admin.getByText('Runner deleted').first().waitFor();
    assert.equal((await call(system, 'GET', `/api/v1/runners/${createdId}`)).status, 404);
  });

  test('a Viewer sees the runner but no edit control, and the API refuses them anyway', async () => {
    const user = await expectOk(
      call(system, 'POST', '/api/v1/users', { name: 'Vera Viewer', email: 'vera@example.test', roles: ['read_only'] }),
      'create user',
      201,
    );
    const userId = String(user['id']);
    // The admin grants Viewer access on the runner's page.
    await admin.goto(`${system.cpUrl}/runners/${runnerId}`);
    const form = admin.getByTestId('grant-form');
    await form.locator('select[name="type"]').selectOption('user');
    await form.locator('input[name="id"]').fill(userId);
    await form.locator('select[name="role"]').selectOption('viewer');
    await form.getByRole('button', { name: 'Set access' }).click();
    const grant = admin.getByTestId('grant-row').filter({ hasText: 'Vera Viewer' });
    await grant.getByText('viewer', { exact: true }).waitFor();
    await shot(admin, 'grant-viewer');
    const grants = await expectOk(call(system, 'GET', `/api/v1/runners/${runnerId}/grants`), 'grants');
    assert.deepEqual(
      (grants['grants'] as { principal: { id: string }; role: string }[]).filter((g) => g.principal.id === userId).map((g) => g.role),
      ['viewer'],
    );
    const key = await expectOk(
      call(system, 'POST', '/api/v1/app-keys', {
        name: 'vera-web',
        scopes: ['on_prem_runner_read', 'connections_read'],
        owner: { type: 'user', id: userId },
      }),
      'viewer app key',
      201,
    );
    const viewerKey = String(key['key']);

    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    try {
      const viewer = watch(await context.newPage());
      await signIn(viewer, viewerKey);
      await row(viewer, system.runnerName).getByTestId('runner-status').waitFor();
      assert.match((await viewer.getByTestId('who').textContent()) ?? '', /Vera Viewer/);
      assert.equal(await viewer.locator('[data-testid="runner-row"]').count(), 1, 'only the runner the viewer was granted');
      assert.equal(await viewer.getByTestId('new-runner').count(), 0);
      assert.equal(await viewer.getByTestId('delete-runner').count(), 0);
      await shot(viewer, 'viewer-list');

      await row(viewer, system.runnerName).getByTestId('runner-link').click();
      await viewer.getByTestId('runner-name').waitFor();
      await viewer.locator(`[data-testid="task-row"][data-task-id="${taskId}"]`).waitFor();
      assert.equal(await viewer.getByTestId('runner-access').textContent(), 'viewer');
      for (const control of ['delete-runner', 'grant-form', 'new-token'])
        assert.equal(await viewer.getByTestId(control).count(), 0, control);
      assert.equal(await viewer.locator('#view button').count(), 0, 'no button at all on the runner page');
      await shot(viewer, 'viewer-detail');

      await viewer.getByRole('button', { name: 'Sign out' }).click();
      await viewer.locator('#signin').waitFor({ state: 'visible' });
      assert.equal(await viewer.evaluate('sessionStorage.getItem("par.appKey")'), null, 'signing out forgets the key');
      assert.equal(await viewer.getByTestId('runner-name').count(), 0);
    } finally {
      await context.close();
    }
    const refused = await call(system, 'DELETE', `/api/v1/runners/${runnerId}?force=true`, undefined, viewerKey);
    assert.equal(refused.status, 403, JSON.stringify(refused.body));
  });

  test('deleting a runner from the page makes its identity stop working at once', async () => {
    await system.createConnection({ integration: 'http', name: 'web-conn' });
    const identity = await readIdentity(system.configDir);
    assert.ok(identity);
    const minter = new RunnerTokenMinter(identity.runnerId, await importSigningKey(identity.privateKey));
    const dequeue = async (): Promise<Answer> => {
      const res = await fetch(`${system.cpUrl}${RUNNER_API.dequeue}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${await minter.token()}`, 'content-type': 'application/json' },
        body: JSON.stringify({ max: 1, waitMs: 0 }),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    assert.equal((await dequeue()).status, 200, 'the identity works before the delete');

    await admin.goto(`${system.cpUrl}/`);
    const r = row(admin, system.runnerName);
    await r.getByTestId('delete-runner').click();
    await r.getByTestId('confirm-delete').click();
    // A connection still uses the runner: the page says which, and offers to delete anyway.
    await admin.locator('tr.row-note').filter({ hasText: 'web-conn' }).getByTestId('delete-message').waitFor();
    await shot(admin, 'delete-in-use');
    await r.getByTestId('force-delete').click();
    await admin.locator('#banner').getByText(`Runner ${system.runnerName} deleted`).waitFor();
    await r.waitFor({ state: 'detached' });
    await shot(admin, 'runner-deleted');

    const after = await dequeue();
    assert.equal(after.status, 401, JSON.stringify(after.body));
    assert.equal(after.body['code'], 'PAR_ERR_AUTH_RUNNER_UNKNOWN');
    assert.equal((await call(system, 'GET', `/api/v1/runners/${runnerId}`)).status, 404);
  });

  test('no page had a script error or a Content-Security-Policy violation', () => {
    assert.deepEqual(pageProblems, []);
  });
});
