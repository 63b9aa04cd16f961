/**
 * Watching and replaying in a real Chromium against a real Berth: an instructor
 * opens a learner's terminal read-only (scrollback, live output, typing goes
 * nowhere), the learner's page says who watches; help mode types into it until
 * the learner stops it; the replay page plays the recording and jumps to the
 * marker where an exercise passed. The instructor is a real account with a real
 * class the learner joined.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { BrowserContext, Page } from 'playwright-core';
import AxeBuilder from '@axe-core/playwright';
import { startE2E, typeInTerminal, waitForScreen, type E2E } from '../helpers/browser.ts';
import { handleOf } from '../../sandbox-server/src/identity.ts';
import { newInstructor, post } from '../helpers/classroom.ts';

const PROMPT = /learner@berth:\S*\$/;
const LESSON = '/en/lessons/00-welcome/';

/** Serious or critical WCAG 2.1 AA problems on the page. */
async function axeProblems(page: Page): Promise<string[]> {
  const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  return results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id}: ${v.help} (${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')})`);
}

async function watchScreen(page: Page, pattern: RegExp, timeoutMs = 15_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let text = '';
  while (Date.now() < deadline) {
    text = await page.locator('.watch-terminal .xterm-rows').innerText();
    if (pattern.test(text)) return text;
    await page.waitForTimeout(100);
  }
  throw new Error(`the watch view never showed ${pattern}; it shows:\n${text}`);
}

describe('an instructor watches and replays a learner', () => {
  let e2e: E2E | undefined;
  let learnerCtx: BrowserContext;
  let teacherCtx: BrowserContext;
  let learnerPage: Page;
  let learner: string;
  let classId: string;
  before(async () => {
    e2e = await startE2E();
    // A real instructor (the operator's command, then the login link) and a class with lesson 0.
    const kim = await newInstructor(e2e.berth, 'Kim');
    const made = (await (await kim.post('/api/teach/classes', { name: 'Docker 101', lessons: ['00-welcome'] })).json()) as { id: string; code: string };
    classId = made.id;
    learnerCtx = await e2e.browser.newContext({ viewport: { width: 1280, height: 850 } });
    // The learner joins before the terminal opens: they are in the class from their first output.
    await (await learnerCtx.request.get(`${e2e.berth.origin}/api/session`)).dispose();
    const cookie = (await learnerCtx.cookies()).find((c) => c.name === 'berth_learner')!;
    learner = handleOf(cookie.value);
    const joined = await post(e2e.berth, `/api/join/${made.code}`, { name: 'Min' }, { Cookie: `${cookie.name}=${cookie.value}` });
    assert.equal(joined.status, 200);
    learnerPage = await learnerCtx.newPage();
    await learnerPage.goto(e2e.berth.origin + LESSON);
    await learnerPage.locator('berth-terminal[data-state="ready"]').waitFor({ timeout: 90_000 });
    await waitForScreen(learnerPage, PROMPT, 20_000);
    await typeInTerminal(learnerPage, 'echo before-$((20+1))-watch');
    await waitForScreen(learnerPage, /before-21-watch/);
    teacherCtx = await e2e.browser.newContext({ viewport: { width: 1280, height: 850 } });
    const [name, value] = [kim.cookie.slice(0, kim.cookie.indexOf('=')), kim.cookie.slice(kim.cookie.indexOf('=') + 1)];
    await teacherCtx.addCookies([{ name: name!, value: value!, url: e2e.berth.origin, sameSite: 'Strict', httpOnly: true }]);
  });
  after(async () => {
    await learnerCtx?.close();
    await teacherCtx?.close();
    await e2e?.close();
  });

  test('read-only view: scrollback, live output, the learner sees it; typing reaches nothing', async () => {
    // From the class page: the learner's name opens their terminal.
    const page = await teacherCtx.newPage();
    await page.goto(`${e2e!.berth.origin}/en/teach/class/?id=${classId}`);
    await page.locator(`tr[data-learner="${learner}"] a[data-watch]`).click();
    await page.locator('main.watch[data-state="watching"]').waitFor();
    await watchScreen(page, /before-21-watch/);
    assert.deepEqual(await axeProblems(page), []);
    await learnerPage.locator('.sandbox-watchers:not([hidden])').waitFor();
    assert.match(await learnerPage.locator('.sandbox-watchers-text').innerText(), /watching your terminal: Kim/);

    await typeInTerminal(learnerPage, 'echo live-$((6*7))');
    const t0 = Date.now();
    await watchScreen(page, /live-42/);
    console.log(`# live output on the watch page within ${Date.now() - t0} ms of the learner's Enter (polling every 100 ms)`);

    await page.locator('.watch-terminal .xterm-helper-textarea').focus();
    await page.keyboard.type('echo typed-by-$((1+1))-watcher');
    await page.keyboard.press('Enter');
    await page.waitForTimeout(1000); // had it reached the shell, both screens would show it by now
    await typeInTerminal(learnerPage, 'echo after-$((3+4))');
    await waitForScreen(learnerPage, /after-7/);
    assert.doesNotMatch(await learnerPage.locator('berth-terminal .xterm-rows').innerText(), /typed-by/);
    assert.doesNotMatch(await watchScreen(page, /after-7/), /typed-by/);
    await page.close();
    await learnerPage.locator('.sandbox-watchers[hidden]').waitFor({ state: 'attached' });
  });

  test('the watch and replay pages speak Korean at /teach/ and English at /en/teach/', async () => {
    const page = await teacherCtx.newPage();
    for (const [path, lang, button] of [['/teach/watch/', 'ko', '입력해서 돕기'], ['/en/teach/watch/', 'en', 'Type to help']] as const) {
      await page.goto(`${e2e!.berth.origin}${path}?learner=${learner}`);
      assert.equal(await page.locator('html').getAttribute('lang'), lang);
      await page.getByRole('button', { name: button }).waitFor();
    }
    await page.goto(`${e2e!.berth.origin}/teach/replay/?class=none&learner=${learner}`);
    await page.getByText('내 수업에 이 학습자의 녹화가 없어요.').waitFor();
    await page.close();
  });

  test('help mode: the learner sees who types and stops it', async () => {
    const page = await teacherCtx.newPage();
    await page.goto(`${e2e!.berth.origin}/en/teach/watch/?learner=${learner}`);
    await page.locator('main.watch[data-state="watching"]').waitFor();
    await page.getByRole('button', { name: 'Type to help' }).click();
    await page.locator('main.watch[data-helping="true"]').waitFor();
    await learnerPage.locator('.sandbox-watchers[data-helping="true"]').waitFor();
    assert.equal(await learnerPage.locator('.sandbox-watchers-text').innerText(), 'Instructor Kim is typing in your terminal.');
    await page.locator('.watch-terminal .xterm-helper-textarea').focus();
    await page.keyboard.type('echo helped-$((2+3))');
    await page.keyboard.press('Enter');
    await waitForScreen(learnerPage, /helped-5/);
    await learnerPage.getByRole('button', { name: 'Stop their typing' }).click();
    await page.locator('main.watch[data-helping="false"]').waitFor();
    assert.match(await page.locator('.watch-status').innerText(), /learner ended your typing/);
    assert.equal(await page.locator('.watch-help').isDisabled(), true);
    await page.close();
  });

  test('the replay page plays the recording and jumps to the exercise marker', async () => {
    await typeInTerminal(learnerPage, "docker version --format '{{.Server.Version}}' > ~/server-version.txt");
    // The pass reaches the recording as a marker; the listing says when.
    const deadline = Date.now() + 30_000;
    for (;;) {
      const res = await teacherCtx.request.get(`${e2e!.berth.origin}/api/teach/classes/${classId}/recordings/${learner}`);
      const body = (await res.json()) as { recordings: { lesson: string; markers: { label: string }[] }[] };
      if (body.recordings.some((r) => r.markers.some((m) => m.label === 'server-version'))) break;
      assert.ok(Date.now() < deadline, `no marker yet: ${JSON.stringify(body)}`);
      await new Promise((r) => setTimeout(r, 300));
    }
    await typeInTerminal(learnerPage, 'echo after-the-pass');
    await waitForScreen(learnerPage, /after-the-pass/);

    const page = await teacherCtx.newPage();
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    page.on('console', (msg) => msg.type() === 'error' && errors.push(msg.text()));
    // From the watch page's link to the recordings.
    await page.goto(`${e2e!.berth.origin}/en/teach/watch/?class=${classId}&learner=${learner}`);
    await page.locator('a.watch-replay').click();
    await page.locator('main.replay[data-state="ready"][data-lesson="00-welcome"]').waitFor();
    assert.match(page.url(), new RegExp(`/teach/replay/\\?class=${classId}&learner=${learner}$`));
    const marker = page.locator('button[data-marker="server-version"]');
    await marker.waitFor();
    await marker.click();
    // At the marker the player shows the screen as it was when the exercise passed.
    const deadline2 = Date.now() + 15_000;
    let shown = '';
    while (Date.now() < deadline2) {
      shown = await page.locator('.replay-player').innerText();
      if (/Server\.Version/.test(shown)) break;
      await page.waitForTimeout(200);
    }
    assert.match(shown, /Server\.Version/, 'the command that passed is on the replayed screen');
    assert.doesNotMatch(shown, /after-the-pass/, 'and nothing from after the pass');
    assert.deepEqual(errors, [], 'no page errors (the player runs under the site\'s CSP)');
    assert.deepEqual(await axeProblems(page), []);
    await page.close();
  });
});
