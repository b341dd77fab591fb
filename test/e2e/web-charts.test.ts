/**
 * The runner page's charts in headless Chromium against the real system: after a few tasks
 * (succeeded and failed), the page draws results per minute by outcome and submit -> result
 * p50/p99 as inline SVG, with the numbers of the stats endpoint, and no script or CSP error.
 * Screenshot: test-output/web/runner-charts.png.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
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

describe('runner page charts in headless Chromium', () => {
  let system: System;
  let target: TargetServer;
  let browser: Browser;
  let page: Page;
  let runnerId: string;
  const problems: string[] = [];

  before(async () => {
    await mkdir(SHOTS, { recursive: true });
    target = await startTargetServer();
    target.route('/gone', (_req, res) => {
      res.statusCode = 404;
      res.end('no');
    });
    system = await startSystem({ workers: 1 });
    runnerId = (await readIdentity(system.configDir))!.runnerId;
    const ids: string[] = [];
    for (const path of ['/health', '/health', '/health', '/gone']) {
      ids.push(
        (
          await system.api.submitTask({
            runner: system.runnerName,
            action: 'com.datadoghq.http.request',
            inputs: { verb: 'GET', url: `${target.url}${path}` },
            timeoutMs: 10_000,
          })
        ).id,
      );
    }
    for (const id of ids) await system.api.waitForTask(id, 30_000);
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    page.setDefaultTimeout(UI_TIMEOUT_MS);
    page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console: ${message.text()}`);
    });
  });

  after(async () => {
    await browser.close();
    await system.stop();
    await target.close();
  });

  test('the Activity panel draws tasks per minute by outcome and p50/p99 with non-zero points', async () => {
    await page.goto(`${system.cpUrl}/`);
    await page.locator('#app-key').fill(system.keys.appKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByTestId('who').waitFor();
    await page.goto(`${system.cpUrl}/runners/${runnerId}`);
    const outcomes = page.getByTestId('chart-outcomes');
    await outcomes.waitFor();
    assert.equal(await outcomes.getAttribute('data-total'), '4');

    const bars = await page.locator('[data-testid="chart-outcomes"] rect[data-outcome]').evaluateAll((els) =>
      els.map((e) => ({
        outcome: e.getAttribute('data-outcome'),
        count: Number(e.getAttribute('data-count')),
        height: Number(e.getAttribute('height')),
      })),
    );
    const sum = (o: string): number => bars.filter((b) => b.outcome === o).reduce((a, b) => a + b.count, 0);
    assert.equal(sum('succeeded'), 3);
    assert.equal(sum('failed'), 1);
    assert.ok(
      bars.every((b) => b.count > 0 && b.height > 0),
      JSON.stringify(bars),
    );
    assert.match((await page.getByTestId('legend-succeeded').textContent()) ?? '', /Succeeded 3/);

    const dots = await page
      .locator('[data-testid="chart-latency"] circle[data-series]')
      .evaluateAll((els) => els.map((e) => ({ series: e.getAttribute('data-series'), value: Number(e.getAttribute('data-value')) })));
    assert.ok(
      dots.some((d) => d.series === 'p50' && d.value > 0),
      JSON.stringify(dots),
    );
    assert.ok(
      dots.some((d) => d.series === 'p99' && d.value > 0),
      JSON.stringify(dots),
    );
    assert.doesNotMatch((await page.getByTestId('legend-p99').textContent()) ?? '', /—/);

    // Same numbers as the API the page read.
    const res = await fetch(`${system.cpUrl}/api/v1/runners/${runnerId}/stats?window=1h`, {
      headers: { 'dd-application-key': system.keys.appKey },
    });
    const stats = (await res.json()) as { totals: { p50Ms: number } };
    assert.match(
      (await page.getByTestId('legend-p50').textContent()) ?? '',
      new RegExp(stats.totals.p50Ms < 1000 ? `${stats.totals.p50Ms} ms` : `${(stats.totals.p50Ms / 1000).toFixed(1)} s`),
    );

    await page.screenshot({ path: `${SHOTS}runner-charts.png`, fullPage: true });
    assert.deepEqual(problems, []);
  });
});
