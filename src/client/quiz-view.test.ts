import { test } from 'node:test';
import assert from 'node:assert/strict';
import { answersFromSelection, answersSubmit, canSubmit, quizStatus, quizView, restoredAnswers, sameChoices } from './quiz-view.ts';
import { t } from '../i18n/strings.ts';
import type { QuizState } from '../../sandbox-server/src/protocol.ts';

const en = t('en');
const ko = t('ko');

test('answers from the form: the checked indexes per question', () => {
  assert.deepEqual(
    answersFromSelection([
      [false, true, false],
      [true, false, true, true],
      [false, false],
    ]),
    [[1], [0, 2, 3], []],
  );
  assert.deepEqual(answersFromSelection([]), []);
});

test('Submit needs a choice in every question', () => {
  assert.equal(canSubmit([[1], [0, 2]], 2), true);
  assert.equal(canSubmit([[1], []], 2), false);
  assert.equal(canSubmit([[1]], 2), false, 'a question missing altogether');
  assert.equal(canSubmit([], 0), false, 'nothing to answer');
});

test('same choices regardless of order and repeats', () => {
  assert.equal(sameChoices([2, 0], [0, 2]), true);
  assert.equal(sameChoices([0, 0, 2], [2, 0]), true);
  assert.equal(sameChoices([0], [0, 1]), false);
  assert.equal(sameChoices([], []), true);
  assert.equal(sameChoices(undefined, [0]), false);
});

test('recorded answers are fitted to the form: valid indexes only, one for a radio question', () => {
  const shape = [
    { choices: 3, multiple: false },
    { choices: 4, multiple: true },
    { choices: 2, multiple: false },
  ];
  const state: QuizState = { id: 'q', passed: false, attempts: 1, answers: [[1, 2], [3, 9, 0, 3], [-1]] };
  assert.deepEqual(restoredAnswers(state, shape), [[1], [0, 3], []]);
  assert.equal(restoredAnswers({ id: 'q', passed: true, attempts: 1 }, shape), undefined, 'no answers kept (e.g. the server restarted)');
  assert.equal(restoredAnswers(undefined, shape), undefined);
});

test('status for the task list: pending, failing after a wrong Submit, passed once passed', () => {
  assert.equal(quizStatus(undefined), 'pending');
  assert.equal(quizStatus({ id: 'q', passed: false, attempts: 0 }), 'pending');
  assert.equal(quizStatus({ id: 'q', passed: false, attempts: 2 }), 'failing');
  assert.equal(quizStatus({ id: 'q', passed: true, attempts: 3 }), 'passed');
});

test('before any answer: nothing marked, no summary, Submit only when all are answered', () => {
  const v = quizView(undefined, [[], [1]], en);
  assert.equal(v.passed, false);
  assert.equal(v.status, 'pending');
  assert.deepEqual(v.questions, [{}, {}]);
  assert.equal(v.summary.kind, 'none');
  assert.equal(v.summary.text, '');
  assert.equal(v.attempts, undefined);
  assert.equal(v.submittable, false);
  assert.equal(quizView(undefined, [[0], [1]], en).submittable, true);
});

test('after an answer: each question right or wrong in words and icon, with its explanation, and the score', () => {
  const state: QuizState = {
    id: 'q',
    passed: false,
    attempts: 1,
    answers: [[0], [1, 2], [1]],
    correct: [true, false, true],
    explanations: ['Because A', 'Because B', 'Because C'],
  };
  const v = quizView(state, [[0], [1, 2], [1]], en);
  assert.deepEqual(v.questions[0], { correct: true, icon: '✓', label: 'Correct', explanation: 'Because A' });
  assert.deepEqual(v.questions[1], { correct: false, icon: '✗', label: 'Incorrect', explanation: 'Because B' });
  assert.deepEqual(v.summary, { kind: 'score', icon: '✗', text: '2 of 3 correct', detail: en.quiz.tryAgain });
  assert.equal(v.status, 'failing');
  assert.equal(v.attempts, 'Submitted once');
  const k = quizView(state, [[0], [1, 2], [1]], ko);
  assert.equal(k.summary.text, '2/3 맞았어요');
  assert.equal(k.questions[1]!.label, '틀렸어요');
});

test('a changed answer hides that question\'s verdict until it is submitted again', () => {
  const state: QuizState = { id: 'q', passed: false, attempts: 1, answers: [[0], [1]], correct: [true, false], explanations: ['A', 'B'] };
  const v = quizView(state, [[0], [2]], en);
  assert.equal(v.questions[0]!.correct, true);
  assert.deepEqual(v.questions[1], {}, 'no mark, no explanation for the new choice');
  assert.equal(v.summary.text, '1 of 2 correct', 'the summary still describes the last Submit');
  assert.equal(quizView(state, [[0], [1]], en).questions[1]!.correct, false, 'changing back shows it again');
});

test('all correct: passed, a clear success summary', () => {
  const state: QuizState = { id: 'q', passed: true, attempts: 2, answers: [[0], [1]], correct: [true, true], explanations: ['A', 'B'] };
  const v = quizView(state, [[0], [1]], en);
  assert.equal(v.passed, true);
  assert.equal(v.status, 'passed');
  assert.deepEqual(v.summary, { kind: 'passed', icon: '✓', text: 'All 2 correct. Quiz passed!' });
  assert.equal(quizView(state, [[0], [1]], ko).summary.text, '2문제 모두 맞았어요. 퀴즈를 통과했어요!');
  assert.equal(v.attempts, 'Submitted 2 times');
});

test('passed before, wrong now: the score and that it was passed; passed with no answers kept', () => {
  const again: QuizState = { id: 'q', passed: true, attempts: 3, answers: [[1]], correct: [false], explanations: ['A'] };
  assert.deepEqual(quizView(again, [[1]], en).summary, { kind: 'score', icon: '✗', text: '0 of 1 correct', detail: en.quiz.passedBefore });
  assert.equal(quizView(again, [[1]], en).passed, true);
  const bare: QuizState = { id: 'q', passed: true, attempts: 1 };
  assert.deepEqual(quizView(bare, [[]], en).summary, { kind: 'passed', icon: '✓', text: en.quiz.passedBefore });
});

test('graded lessons: verdicts without explanations', () => {
  const state: QuizState = { id: 'q', passed: false, attempts: 1, answers: [[0]], correct: [false] };
  assert.deepEqual(quizView(state, [[0]], en).questions[0], { correct: false, icon: '✗', label: 'Incorrect' });
});

test('graded, submissions left: no verdict, no score, and how many are left; none left: the result of the last, Submit off', () => {
  const first: QuizState = { id: 'q', passed: false, attempts: 0, submissionsLeft: 2 };
  assert.equal(quizView(first, [[]], en).attempts, 'You can submit 2 times. Results show after the last submission.');
  const waiting: QuizState = { id: 'q', passed: false, attempts: 1, answers: [[1]], submissionsLeft: 1 };
  const w = quizView(waiting, [[1]], en);
  assert.equal(w.status, 'pending', 'not "failing": that would say the answer is wrong');
  assert.deepEqual(w.questions, [{}]);
  assert.deepEqual(w.summary, { kind: 'none', icon: '', text: en.quiz.submitted(1) });
  assert.equal(w.submittable, true);
  const done: QuizState = { id: 'q', passed: false, attempts: 2, answers: [[1]], correct: [false], submissionsLeft: 0 };
  const d = quizView(done, [[1]], en);
  assert.equal(d.status, 'failing');
  assert.deepEqual(d.summary, { kind: 'score', icon: '✗', text: '0 of 1 correct', detail: en.quiz.finalSubmission });
  assert.equal(d.submittable, false);
  assert.equal(d.closed, true);
  assert.match(quizView(done, [[1]], ko).summary.detail ?? '', /마지막 제출/);
});

test('a Submit is answered by a state with more attempts', () => {
  assert.equal(answersSubmit(0, { id: 'q', passed: false, attempts: 1 }), true);
  assert.equal(answersSubmit(1, { id: 'q', passed: false, attempts: 1 }), false, 'an unrelated broadcast');
  assert.equal(answersSubmit(0, undefined), false);
});
