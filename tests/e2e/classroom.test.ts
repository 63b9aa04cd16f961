/**
 * A class in Chromium: the instructor logs in on the login page and creates a
 * class on /teach/; 100 learners join through the real join route (HTTP, no
 * sandboxes), and one real learner joins on the join page, lands on the first
 * lesson and passes an exercise in a real sandbox: the grid shows it without a
 * reload, and the instructor's message shows on the learner's page. Prints how long the result took to reach the grid after the learner's
 * own page showed it (asserted: that it arrives, not how fast). Also: sort and
 * filter, the CSV export parsed back, axe at 390 and 1280 px, no page wider than
 * the viewport (screenshots in $BERTH_SCREENSHOTS or /tmp/berth-classroom).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import AxeBuilder from '@axe-core/playwright';
import type { Page } from 'playwright-core';
import { startE2E, typeInTerminal, type E2E } from '../helpers/browser.ts';
import { instructorCommand, linkToken, post } from '../helpers/classroom.ts';
import { loadAllExercises } from '../../sandbox-server/src/exercises/load.ts';

const SHOTS = process.env.BERTH_SCREENSHOTS ?? '/tmp/berth-classroom';
const LEARNERS = 100;
const PASSWORD = 'a long enough password';

async function seriousViolations(page: Page, label: string): Promise<string[]> {
  const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  return results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${label}: ${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`);
}

describe('classroom in the browser', () => {
  let e2e: E2E;
  let classUrl = '';
  let code = '';
  let teacher: Page;

  before(async () => {
    e2e = await startE2E();
    mkdirSync(SHOTS, { recursive: true });
  });
  after(() => e2e?.close());

  test('the instructor sets a password from the link, logs in, and creates a class', async () => {
    const { berth, browser } = e2e;
    const token = linkToken(instructorCommand(berth, 'add', 'kim'));
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    teacher = await context.newPage();
    await teacher.goto(`${berth.origin}/en/teach/setup/#${token}`);
    await teacher.getByLabel('New password').fill(PASSWORD);
    await teacher.getByRole('button', { name: 'Set password and log in' }).click();
    await teacher.waitForURL(`${berth.origin}/en/teach/`);
    await teacher.getByRole('button', { name: 'Log out' }).click();
    await teacher.waitForURL(`${berth.origin}/en/teach/login/`);
    await teacher.getByLabel('Name').fill('kim');
    await teacher.getByLabel('Password').fill('wrong password');
    await teacher.getByRole('button', { name: 'Log in' }).click();
    await teacher.getByRole('alert').filter({ hasText: 'Wrong name or password' }).waitFor();
    await teacher.getByLabel('Password').fill(PASSWORD);
    await teacher.getByRole('button', { name: 'Log in' }).click();
    await teacher.waitForURL(`${berth.origin}/en/teach/`);
    await teacher.locator('[data-teach-me]').filter({ hasText: 'Logged in as kim.' }).waitFor();

    await teacher.getByLabel('Class name').fill('Bootcamp <Tuesday>');
    // Lessons in the order ticked: welcome first.
    await teacher.locator('input[name=lesson][value="00-welcome"]').check();
    await teacher.locator('input[name=lesson][value="01-vms-and-containers"]').check();
    assert.match(await teacher.locator('[data-lesson-order]').innerText(), /^1\. Welcome.* → 2\. /);
    await teacher.getByLabel('Memory (MiB)').fill('1024');
    await teacher.getByRole('button', { name: 'Create class' }).click();
    await teacher.waitForURL(/\/en\/teach\/class\/\?id=/);
    classUrl = teacher.url();
    // The page fills the class in once its request answers: wait for the code, do not race it.
    await teacher.locator('[data-class-code]').filter({ hasText: /\S/ }).waitFor();
    code = (await teacher.locator('[data-class-code]').innerText()).trim();
    assert.match(code, /^[234679ACDEFGHJKMNPQRTUVWXYZ]{6}$/);
    assert.equal(await teacher.locator('[data-class-name]').innerText(), 'Bootcamp <Tuesday>', 'the name is text, not markup');
    assert.equal(await teacher.locator('a[data-join-link]').innerText(), `${berth.origin}/join/${code}/`);
    assert.ok((await teacher.locator('img[data-qr]').getAttribute('src'))!.startsWith('data:image/svg+xml'));
    await teacher.locator('[data-live]').filter({ hasText: 'Live' }).waitFor();
    await teacher.locator('[data-no-learners]').waitFor();
  });

  test(`${LEARNERS} learners join through the join route; the grid lists them live`, async () => {
    const { berth } = e2e;
    const began = Date.now();
    for (let i = 0; i < LEARNERS; i++) {
      const res = await post(berth, `/api/join/${code}`, { name: `Learner ${String(i).padStart(3, '0')}` });
      assert.equal(res.status, 200);
    }
    console.log(`# ${LEARNERS} joins over HTTP in ${Date.now() - began} ms`);
    await teacher.locator('table[data-grid] tbody tr').nth(LEARNERS - 1).waitFor();
    assert.equal(await teacher.locator('table[data-grid] tbody tr').count(), LEARNERS);
    // Welcome has 3 exercises and 1 quiz, lesson 1 its own: every learner has a cell for each.
    const columns = await teacher.locator('table[data-grid] thead tr:nth-child(2) th').count();
    assert.ok(columns > 5, `${columns} header cells`);
    assert.equal(await teacher.locator('table[data-grid] tbody tr:first-child td[data-s]').count(), columns - 3);
    assert.equal(await teacher.locator('tfoot tr[data-totals=current] td').first().innerText(), String(LEARNERS), 'everyone is on the first exercise');
  });

  test("one real learner joins on the join page, passes an exercise, and the grid shows it without a reload", async () => {
    const { berth, browser } = e2e;
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const learner = await context.newPage();
    await learner.goto(`${berth.origin}/en/join/${code.toLowerCase()}/`);
    await learner.locator('[data-join-class]').filter({ hasText: 'Bootcamp <Tuesday>' }).waitFor();
    assert.match(await learner.locator('.join-notice').innerText(), /sees your exercise progress, your terminal and its recording/);
    await learner.getByLabel('Display name').fill('Real Learner');
    await learner.getByRole('button', { name: 'Join' }).click();
    await learner.waitForURL(`${berth.origin}/en/lessons/00-welcome/`);
    const row = teacher.locator('table[data-grid] tbody tr').filter({ has: teacher.locator('th', { hasText: 'Real Learner' }) });
    await row.waitFor();
    const cell = row.locator('td[data-col="00-welcome/docker-info"]');
    assert.equal(await cell.getAttribute('data-s'), 'pending');

    await learner.locator('berth-terminal[data-state="ready"]').waitFor({ timeout: 120_000 });
    // Both pages note when they first show the pass (same machine, same clock).
    const watch = (page: Page, selector: string) =>
      page.evaluate((sel) => {
        return new Promise<number>((resolve, reject) => {
          setTimeout(() => reject(new Error(`${sel} never appeared`)), 60_000);
          const seen = () => document.querySelector(sel) !== null;
          if (seen()) return resolve(Date.now());
          const observer = new MutationObserver(() => {
            if (seen()) {
              observer.disconnect();
              resolve(Date.now());
            }
          });
          observer.observe(document.body, { subtree: true, childList: true, attributes: true });
        });
      }, selector);
    const onGrid = watch(teacher, 'tr td[data-col="00-welcome/docker-info"][data-s="passed"]');
    const onPage = watch(learner, '[data-exercise="docker-info"][data-status="passed"]');
    // The exercise's own reference solution (one line), as the lesson has it now.
    const solution = loadAllExercises(berth.config.contentDir).get('00-welcome')!.exercises.find((e) => e.id === 'docker-info')!.solution.trim();
    const typed = Date.now();
    await typeInTerminal(learner, solution);
    const [gridAt, pageAt] = await Promise.all([onGrid, onPage]).catch(async (err: Error) => {
      await learner.screenshot({ path: join(SHOTS, 'learner-failed.png') });
      await teacher.screenshot({ path: join(SHOTS, 'grid-failed.png') });
      throw err;
    });
    console.log(`# grid latency: ${gridAt - pageAt} ms after the learner's page showed the pass (${gridAt - typed} ms after Enter; ${pageAt - typed} ms for the learner's page)`);
    assert.equal(await cell.getAttribute('data-s'), 'passed');
    assert.equal(await row.locator('td [data-done]').innerText(), '1/' + (await row.locator('td[data-s]').count()));
    await teacher.screenshot({ path: join(SHOTS, 'grid-1280.png'), fullPage: false });

    // A message to the class: a banner on the learner's page, as text.
    await teacher.getByRole('textbox', { name: 'Message to all learners' }).fill('<i>Break</i> until 10:30');
    await teacher.getByRole('button', { name: 'Send' }).click();
    await teacher.locator('[data-tools-message]').filter({ hasText: 'Sent.' }).waitFor();
    const banner = learner.locator('[data-class-notice]');
    await banner.filter({ hasText: '<i>Break</i> until 10:30' }).waitFor();
    assert.equal(await banner.locator('i').count(), 0, 'not markup');
    await learner.screenshot({ path: join(SHOTS, 'lesson-notice-1280.png') });
    await banner.getByRole('button', { name: 'Close' }).click();
    assert.equal(await banner.isHidden(), true);
    await context.close();
  });

  test('sort and filter; the CSV export parses back with every learner', async () => {
    const names = () => teacher.locator('table[data-grid] tbody th').allInnerTexts();
    await teacher.locator('select[data-sort]').selectOption('progress');
    assert.equal((await names())[0], 'Real Learner', 'most progress first');
    await teacher.locator('select[data-filter]').selectOption('done');
    assert.equal(await teacher.locator('table[data-grid] tbody tr').count(), 0, 'nobody has finished');
    await teacher.locator('select[data-filter]').selectOption('all');
    await teacher.locator('select[data-sort]').selectOption('name');
    assert.equal((await names())[0], 'Learner 000');

    const href = await teacher.locator('a[data-export=csv]').getAttribute('href');
    const res = await teacher.context().request.get(e2e.berth.origin + href!);
    assert.equal(res.status(), 200);
    const text = (await res.body()).toString('utf8');
    assert.ok(text.startsWith('\uFEFF'));
    const lines = text.slice(1).trimEnd().split('\r\n').map((l) => l.split(','));
    assert.deepEqual(lines[0]!.slice(0, 7), ['Student', 'ID', 'SIS User ID', 'SIS Login ID', 'Section', '00-welcome', '01-vms-and-containers']);
    assert.equal(lines.length, 2 + LEARNERS + 1);
    const real = lines.find((l) => l[0] === 'Real Learner')!;
    assert.equal(real[5], '1');
  });

  test("a learner's grading evidence opens in a dialog from their row (none in a practice lesson)", async () => {
    const row = teacher.locator('table[data-grid] tbody tr', { has: teacher.getByRole('rowheader', { name: 'Real Learner' }) });
    await row.locator('button.grid-evidence').click();
    const dialog = teacher.locator('dialog[data-evidence]');
    await dialog.waitFor({ state: 'visible' });
    assert.match(await dialog.locator('h2').innerText(), /Real Learner/);
    assert.match(await dialog.innerText(), /채점하는 레슨|graded lesson/);
    await dialog.getByRole('button').click();
    await dialog.waitFor({ state: 'hidden' });
  });

  test('the classroom pages: no serious accessibility violations and nothing wider than the screen, at 390 and 1280 px', async () => {
    const { berth, browser } = e2e;
    const problems: string[] = [];
    for (const width of [390, 1280]) {
      const context = await browser.newContext({ viewport: { width, height: 844 } });
      const page = await context.newPage();
      // The instructor's cookie in this context too.
      await context.addCookies(await teacher.context().cookies());
      const pages: [string, string][] = [
        ['login', '/teach/login/'],
        ['login-en', '/en/teach/login/'],
        ['home', '/teach/'],
        ['class', classUrl.replace(berth.origin, '').replace('/en/', '/')],
        ['class-en', classUrl.replace(berth.origin, '')],
        ['join', `/join/${code}/`],
        ['join-form', '/en/join/'],
      ];
      for (const [name, path] of pages) {
        await page.goto(berth.origin + path);
        if (name.startsWith('class')) await page.locator('table[data-grid] tbody tr').first().waitFor();
        if (name === 'join') await page.locator('form[data-join]:not([hidden])').waitFor();
        if (name === 'home') await page.locator('[data-class]').first().waitFor();
        problems.push(...(await seriousViolations(page, `${name} @${width}`)));
        const wide = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        if (wide > 0) problems.push(`${name} @${width}: ${wide} px wider than the viewport`);
        await page.screenshot({ path: join(SHOTS, `${name}-${width}.png`) });
      }
      await context.close();
    }
    assert.deepEqual(problems, []);
  });
});
