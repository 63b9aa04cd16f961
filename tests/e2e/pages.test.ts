/**
 * The small things people expect of a site (issue 18), in a real Chromium against
 * a real Berth: a 404 page with the site's header and a way back, dark mode that
 * follows the system (and keeps its contrast, by axe), lesson headings that show
 * `--name` as typed, a "lesson complete → next lesson" moment, "continue where you
 * left off" on the home page, and Korean words in the start overlay of a Korean page.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import AxeBuilder from '@axe-core/playwright';
import type { TestBerth } from '../helpers/berth.ts';
import { startE2E, type E2E, typeInTerminal } from '../helpers/browser.ts';

/** Serious or critical axe violations (WCAG 2.1 AA) on the page as it is now. */
async function axeProblems(page: Page, label: string): Promise<string[]> {
  const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  return results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${label}: ${v.id}: ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`);
}

const backgroundOf = (page: Page) => page.evaluate(() => getComputedStyle(document.body).backgroundColor);

describe('pages', () => {
  let berth: TestBerth;
  let browser: Browser;
  let e2e: E2E | undefined;
  before(async () => {
    e2e = await startE2E();
    ({ berth, browser } = e2e);
  });
  after(() => e2e?.close());

  test('an unknown address answers 404 with the site header and a way home, in the language of its path', async () => {
    const page = await browser.newPage({ viewport: { width: 390, height: 844 } });
    try {
      for (const [path, lang, heading, home] of [
        ['/no/such/page', 'ko', '페이지를 찾을 수 없어요', '/'],
        ['/lessons/99-nothing/', 'ko', '페이지를 찾을 수 없어요', '/'],
        ['/en/lessons/99-nothing/', 'en', 'Page not found', '/en/'],
      ] as const) {
        const res = await page.goto(berth.origin + path);
        assert.equal(res?.status(), 404, path);
        assert.equal(await page.locator('html').getAttribute('lang'), lang);
        assert.equal(await page.locator('h1').innerText(), heading);
        assert.equal(await page.locator('header.site-header a.brand').getAttribute('href'), home, 'the site header is there');
        const back = page.locator('[data-not-found] a');
        assert.equal(await back.getAttribute('href'), home);
        await back.click();
        await page.waitForURL(berth.origin + home);
        assert.equal(await page.locator('.lesson-card').count() > 0, true, 'the way back leads to the lessons');
      }
    } finally {
      await page.close();
    }
  });

  test('the home page does not say the terminal is on the right (on a phone it is below)', async () => {
    const page = await browser.newPage({ viewport: { width: 390, height: 844 } });
    try {
      for (const path of ['/', '/en/']) {
        await page.goto(berth.origin + path);
        assert.doesNotMatch(await page.locator('.hero').innerText(), /on the right|오른쪽/);
      }
    } finally {
      await page.close();
    }
  });

  test('dark mode follows the system setting and keeps its contrast; headings show --name as typed', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: 'dark' });
    const page = await context.newPage();
    const problems: string[] = [];
    try {
      await page.goto(`${berth.origin}/en/`);
      assert.equal(await backgroundOf(page), 'rgb(13, 17, 23)', 'a dark page under a dark system setting');
      problems.push(...(await axeProblems(page, '/en/ dark')));
      await page.goto(`${berth.origin}/nothing-here`);
      problems.push(...(await axeProblems(page, '404 dark')));
      await page.emulateMedia({ colorScheme: 'light' });
      assert.equal(await backgroundOf(page), 'rgb(255, 255, 255)', 'and a light one under a light setting');

      await page.emulateMedia({ colorScheme: 'dark' });
      await page.goto(`${berth.origin}/en/lessons/04-containers/`);
      const headings = await page.locator('.prose h2').allInnerTexts();
      assert.ok(headings.some((h) => h.includes('--name') && h.includes('-p')), `a heading shows --name: ${headings.join(' | ')}`);
      assert.ok(headings.every((h) => !/[–—][a-z]/.test(h)), 'no typographic dash where a flag was written');
      await page.locator('berth-terminal[data-state="ready"]').waitFor({ timeout: 90_000 });
      problems.push(...(await axeProblems(page, 'lesson 4 dark')));
    } finally {
      await context.close();
    }
    assert.deepEqual(problems, []);
  });

  test('passing the last exercise shows "lesson complete" with the next lesson; the home page then offers where to go on', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: 'dark' });
    // Every text the start overlay shows, from the first paint on.
    await context.addInitScript(() => {
      const seen: string[] = ((window as unknown as { __overlayTexts: string[] }).__overlayTexts = []);
      new MutationObserver(() => {
        for (const el of document.querySelectorAll('.overlay-title, .overlay-detail')) {
          const text = el.textContent?.trim();
          if (text && seen.at(-1) !== text) seen.push(text);
        }
      }).observe(document, { subtree: true, childList: true, characterData: true });
    });
    const page = await context.newPage();
    const problems: string[] = [];
    try {
      await page.goto(`${berth.origin}/`);
      await page.locator('[data-progress-overall]').filter({ hasNotText: '불러오는 중' }).waitFor();
      assert.equal(await page.locator('[data-continue]').isHidden(), true, 'a new learner: no "continue" yet');

      await page.goto(`${berth.origin}/lessons/00-welcome/`);
      const banner = page.locator('[data-lesson-complete]');
      await page.locator('berth-terminal[data-state="ready"]').waitFor({ timeout: 90_000 });
      const overlayTexts = await page.evaluate(() => (window as unknown as { __overlayTexts: string[] }).__overlayTexts);
      assert.ok(overlayTexts.length > 0, 'the overlay showed while the sandbox started');
      for (const text of overlayTexts) assert.doesNotMatch(text, /starting|waiting|creating|sandbox|engine/i, `Korean page, Korean overlay: ${text}`);

      await typeInTerminal(page, "docker version --format '{{.Server.Version}}' > ~/server-version.txt");
      await typeInTerminal(page, "docker info --format '{{.Driver}}' > ~/storage-driver.txt");
      await page.locator('[data-exercise="docker-info"][data-status="passed"]').waitFor({ timeout: 15_000 });
      assert.equal(await banner.isHidden(), true, 'not complete while an exercise is left');

      await typeInTerminal(page, 'docker run --name first-hello hello-world');
      await banner.waitFor({ state: 'visible', timeout: 30_000 });
      assert.match(await banner.innerText(), /모두 마쳤어요/);
      assert.equal(await banner.getAttribute('role'), 'status');
      assert.equal(await banner.locator('a').getAttribute('href'), '/lessons/01-vms-and-containers/', 'it links the next lesson');
      assert.equal(
        await banner.evaluate((el) => el.previousElementSibling?.getAttribute('data-exercise')),
        'first-container',
        'it appears after the exercise that completed the lesson, where the learner is',
      );
      problems.push(...(await axeProblems(page, 'lesson 0 complete, dark')));
      await page.reload();
      await banner.waitFor({ state: 'visible', timeout: 30_000 });
      assert.equal(await banner.evaluate((el) => el.previousElementSibling?.getAttribute('data-exercise')), 'first-container', 'opened all done: after the last task');

      // Lesson 0 done and opened last: the home page points on to lesson 1.
      await page.goto(`${berth.origin}/`);
      const go = page.locator('[data-continue] a');
      await go.waitFor({ state: 'visible', timeout: 10_000 });
      assert.equal(await go.getAttribute('href'), '/lessons/01-vms-and-containers/');
      assert.match(await go.innerText(), /가상 머신과 컨테이너/);

      // An unfinished lesson opened last: the home page offers to continue it.
      await page.goto(`${berth.origin}/en/lessons/03-images/`);
      await page.locator('[data-exercise]').first().waitFor();
      await page.goto(`${berth.origin}/en/`);
      await go.waitFor({ state: 'visible', timeout: 10_000 });
      assert.equal(await go.getAttribute('href'), '/en/lessons/03-images/');
      assert.match(await go.innerText(), /^Continue: /);
      problems.push(...(await axeProblems(page, '/en/ with continue, dark')));
    } finally {
      await context.close();
    }
    assert.deepEqual(problems, []);
  });
});
