/**
 * A quiz in a real Chromium: the page holds no answers; the server grades a
 * submission, explains each question, records a pass, and a reload shows it again.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { parseExerciseFile } from '../../sandbox-server/src/exercises/load.ts';
import { startE2E, type E2E } from '../helpers/browser.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const LESSON = '01-vms-and-containers';
const file = parseExerciseFile(readFileSync(join(root, 'content/lessons', LESSON, 'exercises.yaml'), 'utf8'), 'exercises.yaml');
const quiz = file.quizzes[0]!;
const rightAnswers = quiz.questions.map((q) => (Array.isArray(q.answer) ? q.answer : [q.answer]));

let e2e: E2E | undefined;
before(async () => {
  e2e = await startE2E();
});
after(() => e2e?.close());

test('a quiz is graded by the server, explained, and stays passed after a reload', async () => {
  const page = await e2e!.browser.newPage({ viewport: { width: 1400, height: 900 } });
  try {
    await page.goto(`${e2e!.berth.origin}/en/lessons/${LESSON}/`);
    const html = await page.content();
    for (const q of quiz.questions) assert.ok(!html.includes(q.explanation.en.slice(0, 40)), 'no explanation in the page before answering');
    await page.locator('berth-terminal[data-state="ready"]').waitFor({ timeout: 90_000 });
    const root = page.locator(`[data-quiz="${quiz.id}"]`);
    const submit = root.locator('button[data-action="submit"]');
    assert.equal(await submit.isDisabled(), true, 'Submit waits for every question');

    // First: the first question wrong (a choice that is not an answer), the rest right.
    const wrong = quiz.questions[0]!.choices.findIndex((_, i) => !rightAnswers[0]!.includes(i));
    for (const [i, answers] of rightAnswers.entries()) {
      for (const choice of i === 0 ? [wrong] : answers) await root.locator(`fieldset[data-question="${i}"] input[value="${choice}"]`).check();
    }
    await submit.click();
    await page.locator(`[data-quiz="${quiz.id}"] fieldset[data-question="0"][data-correct="false"]`).waitFor({ timeout: 10_000 });
    assert.equal(await root.getAttribute('data-passed'), 'false');
    assert.match(await root.locator('fieldset[data-question="0"] .quiz-explanation').innerText(), /\w{5,}/);

    await root.locator(`fieldset[data-question="0"] input[value="${rightAnswers[0]![0]}"]`).check();
    await submit.click();
    await page.locator(`[data-quiz="${quiz.id}"][data-passed="true"]`).waitFor({ timeout: 10_000 });

    await page.reload();
    await page.locator(`[data-quiz="${quiz.id}"][data-passed="true"]`).waitFor({ timeout: 20_000 });
    const progress = await page.evaluate(async (lesson) => (await (await fetch('/api/progress')).json()).lessons[lesson], LESSON);
    assert.ok(progress.passed >= 1, 'the pass is in the learner\'s progress');
  } finally {
    await page.close();
  }
});
