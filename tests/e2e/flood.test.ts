/**
 * A command that prints without pause must not grow the page's memory: the page
 * asks the server to pause while xterm.js is behind, and the shell waits.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import type { TestBerth } from '../helpers/berth.ts';
import { startE2E, type E2E } from '../helpers/browser.ts';

// Big enough that an unbounded queue would show (the heap grows ~45 MB whatever the size, 30 to 200 MB tried).
const FLOOD_MB = Number(process.env.FLOOD_MB ?? 100);

let berth: TestBerth;
let browser: Browser;
let e2e: E2E | undefined;
before(async () => {
  e2e = await startE2E(['--enable-precise-memory-info']);
  ({ berth, browser } = e2e);
});
after(() => e2e?.close());

test(`printing ${FLOOD_MB} MB keeps the page's heap bounded and the terminal responsive`, async () => {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await page.goto(`${berth.origin}/en/lessons/00-welcome/`);
  await page.locator('berth-terminal[data-state="ready"]').waitFor({ timeout: 90_000 });
  const heap = () => page.evaluate(() => (performance as unknown as { memory: { usedJSHeapSize: number } }).memory.usedJSHeapSize);
  await page.locator('berth-terminal .xterm-helper-textarea').focus();
  const baseline = await heap();

  await page.keyboard.type(`yes | head -c ${FLOOD_MB}M; echo flood-$((20+3))-done`);
  await page.keyboard.press('Enter');
  let peak = baseline;
  const began = Date.now();
  for (;;) {
    peak = Math.max(peak, await heap());
    const screen = await page.locator('berth-terminal .xterm-rows').innerText();
    if (/flood-23-done/.test(screen)) break;
    assert.ok(Date.now() - began < 240_000, 'the flood finished within 4 minutes');
    await page.waitForTimeout(250);
  }
  const seconds = (Date.now() - began) / 1000;
  const growthMb = (peak - baseline) / 1048576;
  console.log(`# ${FLOOD_MB} MB through the page in ${seconds.toFixed(1)} s (${(FLOOD_MB / seconds).toFixed(1)} MB/s); heap ${(baseline / 1048576).toFixed(1)} MB, peak growth ${growthMb.toFixed(1)} MB`);
  assert.ok(growthMb < 64, `page heap grew by ${growthMb.toFixed(1)} MB while printing ${FLOOD_MB} MB`);

  // Still interactive afterwards.
  await page.keyboard.type('echo still-$((2*21))');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => /still-42/.test(document.querySelector('berth-terminal .xterm-rows')?.textContent ?? ''), undefined, { timeout: 15_000 });
  await page.close();
});
