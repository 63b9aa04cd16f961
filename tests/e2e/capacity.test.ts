/**
 * The page side of capacity and lifetime, in Chromium against a real Berth with
 * one running slot: a learner past the maximum sees their place in line (not an
 * error) and gets a prompt when the slot frees; in the last minutes before an idle
 * stop the page warns, "Keep working" pushes the stop back, and the stop says why.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { buildSite } from '../../scripts/lib/site.ts';
import { newLearner, startTestBerth, testConfig, type TestBerth } from '../helpers/berth.ts';
import { launchChromium } from '../helpers/browser.ts';
import { TestTerminal } from '../helpers/terminal-client.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
let berth: TestBerth | undefined;
let browser: Browser | undefined;
before(async () => {
  await buildSite(ROOT);
  berth = await startTestBerth(testConfig({ BERTH_MAX_SANDBOXES: '1', BERTH_DETACHED_GRACE: '1s', BERTH_IDLE_TIMEOUT: '20s' }));
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await berth?.destroy();
});

test('a learner past the maximum sees their place, then a prompt; the idle stop is announced and can be put off', async () => {
  const b = berth!;
  const holder = new TestTerminal(b.origin, { cookie: await newLearner(b) });
  await holder.waitForState('ready', 90_000);

  const context = await browser!.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  try {
    await page.goto(`${b.origin}/en/lessons/00-welcome/`);
    const overlay = page.locator('.sandbox-overlay');
    await page.locator('.sandbox-overlay[data-position="1"]').waitFor({ timeout: 30_000 });
    assert.equal(await page.locator('.overlay-title').innerText(), 'You are next in line.');
    assert.match(await page.locator('.overlay-detail').innerText(), /All sandboxes are in use/);
    assert.equal(await overlay.getAttribute('data-kind'), 'progress', 'waiting is progress, not an error');

    holder.close(); // the slot frees after the detached grace
    await page.locator('berth-terminal[data-state="ready"]').waitFor({ timeout: 60_000 });

    // A 20 s idle timeout is inside the 2-minute warning window from the start.
    const warning = page.locator('.sandbox-stop-warning');
    await warning.waitFor({ state: 'visible', timeout: 10_000 });
    assert.equal(await warning.getAttribute('data-kind'), 'idle');
    assert.match(await page.locator('.stop-warning-text').innerText(), /stops in \d+ s/);
    const idle = page.locator('.sandbox-idle');
    const before = Number(await idle.getAttribute('data-idle-stop-at'));
    await page.waitForTimeout(6000);
    await page.getByRole('button', { name: 'Keep working' }).click();
    await page.waitForFunction(
      (prev) => Number(document.querySelector('.sandbox-idle')?.getAttribute('data-idle-stop-at')) > prev + 5000,
      before,
      { timeout: 10_000 },
    );

    // Left alone, it stops; the page says why, and the data is kept.
    await page.locator('berth-terminal[data-state="stopped"]').waitFor({ timeout: 60_000 });
    assert.match(await page.locator('.overlay-title').innerText(), /stopped after a while without input/i);
    assert.equal(await warning.isVisible(), false);
  } finally {
    await context.close();
    holder.close();
  }
});

test('reading the lesson counts as activity, the warning shows above the lesson, and both countdowns agree', async () => {
  const context = await browser!.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  try {
    await page.goto(`${berth!.origin}/en/lessons/00-welcome/`);
    await page.locator('berth-terminal[data-state="ready"]').waitFor({ timeout: 90_000 });
    const warning = page.locator('.sandbox-stop-warning');
    await warning.waitFor({ state: 'visible', timeout: 10_000 });
    // Above the page, not inside the terminal panel: in view while the learner reads.
    assert.equal(await warning.evaluate((el) => el.parentElement === document.body && getComputedStyle(el).position === 'fixed'), true);
    const box = (await warning.boundingBox())!;
    assert.ok(box.y >= 0 && box.y + box.height <= 900, `the warning is in the viewport (${JSON.stringify(box)})`);
    const [toolbar, bar] = await page.evaluate(() => [document.querySelector('.sandbox-idle')!.textContent, document.querySelector('.stop-warning-text')!.textContent]);
    assert.equal(/(\d+) s left/.exec(toolbar ?? '')?.[1], /stops in (\d+) s/.exec(bar ?? '')?.[1], `"${toolbar}" and "${bar}" tell the same time`);

    const before = Number(await page.locator('.sandbox-idle').getAttribute('data-idle-stop-at'));
    await page.waitForTimeout(6000);
    // Scroll the lesson, type nothing: the idle stop moves back.
    await page.mouse.move(300, 500);
    await page.mouse.wheel(0, 400);
    await page.waitForFunction(
      (prev) => Number(document.querySelector('.sandbox-idle')?.getAttribute('data-idle-stop-at')) > prev + 5000,
      before,
      { timeout: 10_000 },
    );
  } finally {
    await context.close();
  }
});
