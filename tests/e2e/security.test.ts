/**
 * The pages under the full Content-Security-Policy, in a real Chromium: the home
 * page and a lesson with its live terminal work and nothing is blocked; "forget me"
 * on the home page deletes the learner and the browser's cookie.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { TestBerth } from '../helpers/berth.ts';
import { startE2E, waitForScreen, type E2E } from '../helpers/browser.ts';

const PROMPT = /learner@berth:\S*\$/;

/** Records every CSP violation and page error of the context's pages. */
async function watch(context: BrowserContext): Promise<{ problems: string[]; page: Page }> {
  const problems: string[] = [];
  // Init scripts come from the browser, not the page, so the policy does not block this one.
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`));
  });
  const page = await context.newPage();
  page.on('console', (msg) => {
    // A 401 from /api/progress is how a browser without a learner is told (after "forget me").
    if (msg.type() === 'error' && !/status of 401/.test(msg.text())) problems.push(msg.text());
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  return { problems, page };
}

describe('pages under the Content-Security-Policy', () => {
  let berth: TestBerth;
  let browser: Browser;
  let e2e: E2E | undefined;
  before(async () => {
    e2e = await startE2E();
    ({ berth, browser } = e2e);
  });
  after(() => e2e?.close());

  test('a lesson page runs its terminal with nothing blocked', async () => {
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    const { problems, page } = await watch(context);
    try {
      const response = await page.goto(`${berth.origin}/en/lessons/00-welcome/`);
      const csp = response?.headers()['content-security-policy'] ?? '';
      assert.match(csp, /default-src 'self'/);
      assert.match(csp, /script-src 'self'(;|$)/);
      await page.locator('berth-terminal[data-state="ready"]').waitFor({ timeout: 90_000 });
      await waitForScreen(page, PROMPT, 15_000);
      await page.getByRole('button', { name: 'Run: docker version', exact: true }).first().click();
      await waitForScreen(page, /Server:[\s\S]*Version:/, 30_000);
      // The lesson with a diagram (img) and highlighted code (inline styles).
      await page.goto(`${berth.origin}/en/lessons/02-how-docker-works/`);
      await page.locator('img[src^="/diagrams/"]').first().waitFor();
      assert.ok(await page.locator('img[src^="/diagrams/"]').first().evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0), 'the diagram loaded');
      await page.locator('berth-terminal[data-state="ready"]').waitFor({ timeout: 30_000 });
      assert.deepEqual(problems, [], 'no CSP violation or page error');
    } finally {
      await context.close();
    }
  });

  test('home page: progress loads, and "forget me" deletes the learner and the cookie', async () => {
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    const { problems, page } = await watch(context);
    try {
      // A learner with a cookie (the lesson page issues it).
      await page.goto(`${berth.origin}/en/lessons/00-welcome/`);
      await page.locator('berth-terminal[data-state="ready"]').waitFor({ timeout: 90_000 });
      const cookie = (await context.cookies()).find((c) => c.name === 'berth_learner');
      assert.ok(cookie, 'a learner cookie');
      await page.goto(`${berth.origin}/en/`);
      const overall = page.locator('[data-progress-overall]');
      await page.waitForFunction(() => !/Loading/.test(document.querySelector('[data-progress-overall]')?.textContent ?? 'Loading'));
      await page.getByRole('button', { name: 'Forget me' }).click();
      await page.getByRole('dialog').getByRole('button', { name: 'Delete everything' }).click();
      await page.waitForFunction(() => /deleted from the server/.test(document.querySelector('[data-progress-overall]')?.textContent ?? ''));
      console.log(`# after forget me: ${await overall.textContent()}`);
      assert.equal((await context.cookies()).find((c) => c.name === 'berth_learner'), undefined, 'the browser has no learner cookie');
      const res = await fetch(`${berth.origin}/api/progress`, { headers: { Cookie: `berth_learner=${cookie.value}` } });
      assert.equal(res.status, 401, 'the server forgot the learner');
      assert.deepEqual(problems, [], 'no CSP violation or page error');
    } finally {
      await context.close();
    }
  });
});
