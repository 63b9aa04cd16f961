/**
 * Exercises in a real Chromium against a real Berth: a fresh task reads neutral
 * until the learner tries it, typing the solution into the terminal turns the
 * task green with no click, a reload keeps it green, hints come from the server
 * one at a time, and the home page shows the progress.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import type { TestBerth } from '../helpers/berth.ts';
import { startE2E, type E2E, typeInTerminal } from '../helpers/browser.ts';

let berth: TestBerth;
let browser: Browser;
let e2e: E2E | undefined;
before(async () => {
  e2e = await startE2E();
  ({ berth, browser } = e2e);
});
after(() => e2e?.close());

test('typing the solution turns the task green without a click, and it stays green after a reload', async () => {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  try {
    await page.goto(`${berth.origin}/en/lessons/00-welcome/`);
    const card = page.locator('[data-exercise="docker-info"]');
    await card.waitFor();
    assert.equal(await card.getAttribute('role'), 'group');
    await page.locator('berth-terminal[data-state="ready"]').waitFor({ timeout: 90_000 });
    await expectNeutral(page);

    const typed = Date.now();
    await typeInTerminal(page, "docker info --format '{{.Driver}}' > ~/storage-driver.txt");
    await page.locator('[data-exercise="docker-info"][data-status="passed"]').waitFor({ timeout: 15_000 });
    console.log(`# typed -> green on the page in ${Date.now() - typed} ms`);
    assert.match(await card.locator('.exercise-status').innerText(), /Storage Driver|rootless|Good/i, 'the success note shows');
    const other = page.locator('[data-exercise="first-container"]');
    assert.notEqual(await other.getAttribute('data-status'), 'passed', 'other exercises are not ticked');
    assert.equal(await page.locator('section#exercises').getAttribute('data-passed'), '1');

    await page.reload();
    await page.locator('[data-exercise="docker-info"][data-status="passed"]').waitFor({ timeout: 15_000 });
  } finally {
    await page.close();
  }
});

/** Every card reads neutral for a while after the sandbox is ready (checks have run by then): no verdict, no feedback. */
async function expectNeutral(page: Page): Promise<void> {
  const until = Date.now() + 4000;
  while (Date.now() < until) {
    const cards = await page.locator('[data-exercise]').evaluateAll((els) =>
      els.map((el) => ({ id: (el as HTMLElement).dataset.exercise, status: (el as HTMLElement).dataset.status, detail: (el.querySelector('.exercise-detail') as HTMLElement | null)?.hidden === false })),
    );
    assert.ok(cards.length >= 3, 'the lesson has its cards');
    for (const c of cards) {
      assert.equal(c.status, 'pending', `${c.id} reads neutral before the learner tried it`);
      assert.equal(c.detail, false, `${c.id} shows no feedback before the learner tried it`);
    }
    await page.waitForTimeout(250);
  }
}

test('a fresh exercise reads neutral; Check shows what is missing, and a reload keeps that', async () => {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  try {
    await page.goto(`${berth.origin}/en/lessons/00-welcome/`);
    await page.locator('berth-terminal[data-state="ready"]').waitFor({ timeout: 90_000 });
    await expectNeutral(page);
    const card = page.locator('[data-exercise="server-version"]');
    assert.match(await card.locator('.exercise-status').innerText(), /Not started yet/);
    assert.doesNotMatch(await card.innerText(), /Server\.Version/, 'the answer is not given away');

    await card.locator('button[data-action="check"]').click();
    await page.locator('[data-exercise="server-version"][data-status="failing"]').waitFor({ timeout: 15_000 });
    assert.match(await card.locator('.exercise-detail').innerText(), /server version/i);
    await page.reload();
    await page.locator('[data-exercise="server-version"][data-status="failing"]').waitFor({ timeout: 15_000 });
  } finally {
    await context.close();
  }
});

test('hints come one at a time from the server, and the home page shows the progress', async () => {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  try {
    await page.goto(`${berth.origin}/lessons/00-welcome/`);
    const card = page.locator('[data-exercise="first-container"]');
    await card.waitFor();
    assert.equal(await card.locator('.exercise-hints li').count(), 0, 'no hint in the static page');
    await page.locator('berth-terminal[data-state="ready"]').waitFor({ timeout: 90_000 });
    const hint = card.locator('button[data-action="hint"]');
    await hint.click();
    await card.locator('.exercise-hints li').first().waitFor({ timeout: 10_000 });
    assert.equal(await card.locator('.exercise-hints li').count(), 1);
    assert.match(await card.locator('.exercise-hints li').first().innerText(), /--name/);
    await hint.click();
    await page.waitForFunction(() => document.querySelectorAll('[data-exercise="first-container"] .exercise-hints li').length === 2);

    await typeInTerminal(page, "docker info --format '{{.Driver}}' > ~/storage-driver.txt");
    await page.locator('[data-exercise="docker-info"][data-status="passed"]').waitFor({ timeout: 15_000 });
    await page.goto(`${berth.origin}/`);
    const badge = page.locator('.lesson-progress[data-progress-for="00-welcome"]');
    await page.waitForFunction(() => document.querySelector('.lesson-progress[data-progress-for="00-welcome"]')?.getAttribute('data-state') === 'some');
    assert.match(await badge.innerText(), /1\s*\/\s*3/);
  } finally {
    await context.close();
  }
});
