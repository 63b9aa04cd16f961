/**
 * The graded final challenge (lesson 9) in a real Chromium against a real Berth.
 * Nothing that would give the task away reaches the learner: no reference
 * solution, near miss or check script in any file of the built site, nor in any
 * control message the server sends the page (terminal bytes are left out: they
 * echo what the test itself types). The page shows a score, meeting one
 * requirement moves it to 1/5 there, and the server records that score.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { ServerMessage } from '../../sandbox-server/src/protocol.ts';
import type { TestBerth } from '../helpers/berth.ts';
import { startE2E, waitForScreen, type E2E, typeInTerminal } from '../helpers/browser.ts';
import { loadAllExercises } from '../../sandbox-server/src/exercises/load.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const LESSON = '09-final-challenge';
const file = loadAllExercises(join(ROOT, 'content'), ROOT).get(LESSON)!;

/** Lines of the solutions, near misses and check scripts long enough to be telling. */
const secrets = [
  ...new Set(
    file.exercises
      .flatMap((e) => [e.solution, e.near_miss ?? '', ...e.checks.map((c) => (c.type === 'script' ? c.run : ''))])
      .flatMap((text) => text.split('\n'))
      .map((line) => line.trim())
      .filter((line) => line.length >= 12 && !line.startsWith('#')),
  ),
];

function leaks(text: string): string[] {
  const plain = text.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
  return secrets.filter((s) => plain.includes(s));
}

/** Every file of the built site but the other lessons' pages, which teach the same commands (lesson 7 writes a Dockerfile too). */
function* siteFiles(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (/\/lessons$/.test(dir) && entry.name !== LESSON) continue;
      yield* siteFiles(path);
    } else if (/\.(html|js|mjs|css|json|txt)$/.test(entry.name)) yield path;
  }
}

let berth: TestBerth;
let browser: Browser;
let e2e: E2E | undefined;
before(async () => {
  e2e = await startE2E();
  ({ berth, browser } = e2e);
});
after(() => e2e?.close());

test('the built site holds no solution, near miss or check script of the graded lesson', () => {
  assert.ok(file.graded, 'lesson 9 is graded');
  assert.ok(secrets.length > 20, `enough lines to look for (${secrets.length})`);
  const pages = ['lessons', 'en/lessons'].map((p) => join(ROOT, 'dist', p, LESSON, 'index.html'));
  for (const page of pages) assert.match(readFileSync(page, 'utf8'), /challenge-app:1/, `${page} is the challenge`);
  const found: string[] = [];
  for (const path of siteFiles(join(ROOT, 'dist'))) for (const s of leaks(readFileSync(path, 'utf8'))) found.push(`${path.slice(ROOT.length + 1)}: ${s}`);
  assert.deepEqual(found, []);
});

test('the page shows the score, and nothing the server sends it gives the task away', async () => {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  const control: string[] = [];
  page.on('websocket', (ws) => ws.on('framereceived', (f) => typeof f.payload === 'string' && control.push(f.payload)));
  try {
    await page.goto(`${berth.origin}/en/lessons/${LESSON}/`);
    const summary = page.locator('section#exercises .summary-count');
    assert.equal(await summary.innerText(), 'Score 0/5');
    assert.equal(await page.locator('[data-exercise] button[data-action="hint"], [data-exercise] button[data-action="solution"]').count(), 0, 'no hint or solution buttons');
    assert.match(await page.locator('.lesson-nav').innerText(), /This is the last lesson\.\s+All lessons/, 'the course ends here, with a way home');

    await page.locator('berth-terminal[data-state="ready"]').waitFor({ timeout: 90_000 });
    // Not tried yet: neutral, no feedback that would hint at the answer.
    await page.locator('[data-exercise="survives"][data-status="pending"]').waitFor({ timeout: 30_000 });
    // The statement promises the app's source; the lesson's setup put it there.
    await typeInTerminal(page, 'ls ~/challenge');
    await waitForScreen(page, /app\.py/);

    // One requirement met: redis with its data in the named volume.
    await typeInTerminal(page, 'docker run -d --name challenge-redis -v challenge-data:/data redis:8');
    await page.locator('[data-exercise="volume"][data-status="passed"]').waitFor({ timeout: 60_000 });
    await page.waitForFunction(() => document.querySelector('section#exercises .summary-count')?.textContent === 'Score 1/5');
    assert.notEqual(await page.locator('[data-exercise="network"]').getAttribute('data-status'), 'passed', 'the other requirements are not met');

    const survives = page.locator('[data-exercise="survives"]');
    await survives.locator('button[data-action="check"]').click();
    await page.waitForFunction(() => document.querySelector('[data-exercise="survives"]')?.getAttribute('data-checking') === null);
    assert.match(await survives.locator('.exercise-status').innerText(), /not running/);

    const progress = await page.evaluate(async () => (await fetch('/api/progress', { credentials: 'same-origin' })).json());
    assert.deepEqual(progress.lessons[LESSON], { passed: 1, total: 5, graded: true, score: { passed: 1, total: 5 } });

    const states = control.map((c) => JSON.parse(c) as ServerMessage).filter((m): m is Extract<ServerMessage, { t: 'exercises' }> => m.t === 'exercises');
    assert.ok(states.length > 2, `the page got exercise states (${states.length})`);
    for (const m of states) {
      assert.equal(m.graded, true);
      assert.ok(m.score, 'a graded state carries the score');
      for (const item of m.items) assert.deepEqual([item.hints, item.hintsTotal, item.canRevealSolution, item.solution], [[], 0, false, undefined]);
    }
    assert.deepEqual(control.flatMap(leaks), [], 'no control message holds a solution, near miss or check script');
  } finally {
    await context.close();
  }
});
