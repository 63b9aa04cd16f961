/**
 * End to end in a real Chromium against a real Berth: the lesson page's terminal
 * becomes a shell in the learner's own sandbox, Run buttons type into it, the
 * scrollback survives a reload, and the language switch keeps the lesson.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import type { TestBerth } from '../helpers/berth.ts';
import { screenText, startE2E, waitForScreen, type E2E } from '../helpers/browser.ts';

const PROMPT = /learner@berth:\S*\$/;


describe('lesson page with a live terminal', () => {
  let berth: TestBerth;
  let browser: Browser;
  let e2e: E2E | undefined;
  before(async () => {
    e2e = await startE2E();
    ({ berth, browser } = e2e);
  });
  after(() => e2e?.close());

  for (const lang of ['ko', 'en'] as const) {
    test(`${lang}: Run on docker version shows the sandbox engine's server version, and a reload replays it`, async () => {
      const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
      const page = await context.newPage();
      try {
        const path = lang === 'ko' ? '/lessons/00-welcome/' : '/en/lessons/00-welcome/';
        await page.goto(berth.origin + path);
        assert.equal(await page.locator('html').getAttribute('lang'), lang);
        await page.locator('berth-terminal[data-state="ready"]').waitFor({ timeout: 90_000 });
        await waitForScreen(page, PROMPT, 15_000);

        const runName = lang === 'ko' ? '실행: docker version' : 'Run: docker version';
        await page.getByRole('button', { name: runName, exact: true }).first().click();
        const screen = await waitForScreen(page, /Server:[\s\S]*Version:\s+\d+\.\d+\.\d+/, 30_000);
        assert.match(screen, /rootlesskit/, 'the engine answering is the rootless one in the sandbox');
        const serverVersion = /Server:[\s\S]*?Version:\s+(\d+\.\d+\.\d+)/.exec(screen)![1];
        // The version comes from the learner's nested engine (Debian 13's), not the host's.
        const hostVersion = (await berth.runtime.docker.version()).Version;
        assert.notEqual(serverVersion, hostVersion.replace(/\+.*/, ''), 'the server version is the nested engine, not the host engine');

        await page.reload();
        await page.locator('berth-terminal[data-state="ready"]').waitFor({ timeout: 30_000 });
        const replayed = await waitForScreen(page, /Server:[\s\S]*Version:/, 10_000);
        assert.match(replayed, new RegExp(`Version:\\s+${serverVersion!.replace(/\./g, '\\.')}`), 'scrollback replayed after reload');
      } finally {
        await context.close();
      }
    });
  }

  test('the language switch keeps the lesson and the same sandbox', async () => {
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    const page = await context.newPage();
    try {
      await page.goto(`${berth.origin}/lessons/00-welcome/`);
      await page.locator('berth-terminal[data-state="ready"]').waitFor({ timeout: 90_000 });
      await waitForScreen(page, PROMPT, 15_000);
      await page.locator('berth-terminal .xterm-helper-textarea').focus();
      await page.keyboard.type('echo lang-$((40+2))');
      await page.keyboard.press('Enter');
      await waitForScreen(page, /lang-42/, 15_000);
      const koTitle = await page.locator('h1').first().innerText();

      await page.getByRole('link', { name: 'Read this page in English' }).click();
      await page.waitForURL('**/en/lessons/00-welcome/');
      assert.equal(await page.locator('html').getAttribute('lang'), 'en');
      const enTitle = await page.locator('h1').first().innerText();
      assert.notEqual(enTitle, koTitle);
      await page.locator('berth-terminal[data-state="ready"]').waitFor({ timeout: 30_000 });
      await waitForScreen(page, /lang-42/, 10_000);

      await page.getByRole('link', { name: '이 페이지를 한국어로 보기' }).click();
      await page.waitForURL(/\/lessons\/00-welcome\/$/);
      assert.equal(await page.locator('html').getAttribute('lang'), 'ko');
    } finally {
      await context.close();
    }
  });

  test('the home pages list the lesson in each language', async () => {
    const page = await browser.newPage();
    try {
      for (const [path, lang] of [['/', 'ko'], ['/en/', 'en']] as const) {
        await page.goto(berth.origin + path);
        assert.equal(await page.locator('html').getAttribute('lang'), lang);
        const card = page.locator('li.lesson-card[data-lesson="00-welcome"] a').first();
        const href = await card.getAttribute('href');
        assert.equal(href, lang === 'ko' ? '/lessons/00-welcome/' : '/en/lessons/00-welcome/');
      }
    } finally {
      await page.close();
    }
  });
});
