import { test } from 'node:test';
import assert from 'node:assert/strict';
import { answers, badgeText, cardView, pendingAction, summaryText, tally } from './exercise-view.ts';
import { t } from '../i18n/strings.ts';
import type { ExerciseState } from '../../sandbox-server/src/protocol.ts';

const en = t('en');
const ko = t('ko');
const base: ExerciseState = { id: 'a', status: 'pending', attempts: 0, hintsUsed: 0, hintsTotal: 2, hints: [], canRevealSolution: false };

test('before the server says anything: pending, hints from the build, solution locked', () => {
  const v = cardView(undefined, { graded: false, hintsTotal: 2 }, en);
  assert.equal(v.status, 'pending');
  assert.equal(v.icon, '○');
  assert.equal(v.label, 'Not started yet');
  assert.equal(v.detail, undefined);
  assert.deepEqual(v.hint, { hidden: false, disabled: false, label: 'Hint (2 left)' });
  assert.equal(v.solution.hidden, false);
  assert.equal(v.solution.disabled, true);
  assert.equal(v.solution.lockedNote, en.exercise.solutionLocked);
  assert.equal(cardView(undefined, { graded: false, hintsTotal: 0 }, en).hint.hidden, true, 'no hints: no Hint button');
});

test('each status has its own icon and words; feedback and success notes are kept as given', () => {
  const failing = cardView({ ...base, status: 'failing', feedback: '<b>no</b> container', attempts: 3 }, { graded: false, hintsTotal: 2 }, ko);
  assert.equal(failing.icon, '✗');
  assert.equal(failing.label, ko.exercise.status.failing);
  assert.deepEqual(failing.detail, { kind: 'feedback', text: '<b>no</b> container' });
  assert.equal(failing.attempts, '3번 확인했어요');
  const passed = cardView({ ...base, status: 'passed', success: 'Well done', feedback: 'stale' }, { graded: false, hintsTotal: 2 }, en);
  assert.deepEqual([passed.icon, passed.label], ['✓', 'Passed']);
  assert.deepEqual(passed.detail, { kind: 'success', text: 'Well done' });
  assert.equal(passed.solution.lockedNote, undefined, 'no nagging about the solution once passed');
  assert.equal(cardView({ ...base, status: 'timeout' }, { graded: false, hintsTotal: 0 }, en).icon, '⏱');
  const error = cardView({ ...base, status: 'error', feedback: 'sandbox not ready' }, { graded: false, hintsTotal: 0 }, en);
  assert.deepEqual([error.icon, error.label, error.detail?.text], ['!', 'Could not check', 'sandbox not ready']);
  const watching = cardView({ ...base, status: 'pending', feedback: 'It is running; watching' }, { graded: false, hintsTotal: 0 }, en);
  assert.deepEqual([watching.icon, watching.detail?.text], ['○', 'It is running; watching'], 'pending shows what the server says it is waiting for');
  const icons = new Set((['pending', 'passed', 'failing', 'timeout', 'error'] as const).map((st) => cardView({ ...base, status: st }, { graded: false, hintsTotal: 0 }, en).icon));
  assert.equal(icons.size, 5);
});

test('hints count down and the button is disabled when none are left', () => {
  const one = cardView({ ...base, hintsUsed: 1, hints: ['first'] }, { graded: false, hintsTotal: 2 }, en);
  assert.deepEqual(one.hints, ['first']);
  assert.equal(one.hint.label, 'Hint (1 left)');
  const none = cardView({ ...base, hintsUsed: 2, hints: ['first', 'second'] }, { graded: false, hintsTotal: 2 }, en);
  assert.deepEqual(none.hint, { hidden: false, disabled: true, label: 'No hints left' });
});

test('solution: enabled when the server allows, shown once revealed', () => {
  const can = cardView({ ...base, canRevealSolution: true }, { graded: false, hintsTotal: 2 }, en);
  assert.equal(can.solution.disabled, false);
  assert.equal(can.solution.lockedNote, undefined);
  const shown = cardView({ ...base, canRevealSolution: true, solution: 'docker run hello-world' }, { graded: false, hintsTotal: 2 }, en);
  assert.equal(shown.solution.hidden, true);
  assert.equal(shown.solution.revealed, 'docker run hello-world');
});

test('graded lessons never show hints or solutions, whatever arrives', () => {
  const v = cardView({ ...base, hints: ['leak'], canRevealSolution: true, solution: 'leak' }, { graded: true, hintsTotal: 2 }, en);
  assert.equal(v.hint.hidden, true);
  assert.equal(v.solution.hidden, true);
  assert.equal(v.solution.revealed, undefined);
  assert.deepEqual(v.hints, []);
});

test('tally counts passed exercises the page shows', () => {
  const items: ExerciseState[] = [
    { ...base, id: 'a', status: 'passed' },
    { ...base, id: 'b', status: 'failing' },
    { ...base, id: 'zzz', status: 'passed' },
  ];
  assert.deepEqual(tally(['a', 'b', 'c'], items), { passed: 1, total: 3 });
  assert.deepEqual(tally(['a'], undefined), { passed: 0, total: 1 });
  assert.equal(badgeText({ passed: 2, total: 3 }), '2/3');
  assert.equal(badgeText({ passed: 3, total: 3 }), '✓ 3/3');
  assert.equal(badgeText({ passed: 0, total: 0 }), '0/0');
});

test('a graded lesson\'s summary is its score; others count what is done', () => {
  assert.equal(summaryText({ passed: 3, total: 5 }, true, en), 'Score 3/5');
  assert.equal(summaryText({ passed: 3, total: 5 }, true, ko), '점수 3/5');
  assert.equal(summaryText({ passed: 3, total: 5 }, false, en), '3 of 5 done');
  assert.equal(summaryText({ passed: 0, total: 2 }, false, ko), '2개 중 0개 완료');
});

test('tally counts passed quizzes like exercises', () => {
  const items: ExerciseState[] = [{ ...base, id: 'a', status: 'passed' }];
  const quizzes = [
    { id: 'q1', passed: true, attempts: 2 },
    { id: 'q2', passed: false, attempts: 1, answers: [[0]], correct: [true] },
    { id: 'other', passed: true, attempts: 1 },
  ];
  assert.deepEqual(tally(['a', 'b'], items, ['q1', 'q2'], quizzes), { passed: 2, total: 4 });
  assert.deepEqual(tally([], undefined, ['q1'], quizzes), { passed: 1, total: 1 });
  assert.deepEqual(tally(['a'], items, ['q1'], undefined), { passed: 1, total: 2 });
});

test('which message answers a pressed button', () => {
  const check = pendingAction('check', { ...base, attempts: 1 });
  assert.equal(answers(check, { ...base, attempts: 1 }, true), false, 'a live run still in flight, press not counted yet');
  assert.equal(answers(check, { ...base, attempts: 2 }, true), true, 'the press was counted');
  assert.equal(answers(check, { ...base, attempts: 1 }, false), true, 'no run in flight any more');
  const hint = pendingAction('hint', base);
  assert.equal(answers(hint, base, true), false);
  assert.equal(answers(hint, { ...base, hintsUsed: 1, hints: ['x'] }, true), true);
  assert.equal(answers(hint, undefined, false), false);
  const sol = pendingAction('solution', { ...base, canRevealSolution: true });
  assert.equal(answers(sol, { ...base, canRevealSolution: true }, false), false);
  assert.equal(answers(sol, { ...base, canRevealSolution: true, solution: 'docker info' }, false), true);
});

test('graded and passed: the evidence the checks recorded, one line per check; never in practice lessons or before passing', () => {
  const base = { id: 'x', attempts: 1, hintsUsed: 0, hintsTotal: 0, hints: [], canRevealSolution: false };
  const evidence = { at: 1_700_000_000_000, checks: [{ type: 'container_running', observed: 'container /web: image nginx, running' }, { type: 'script', observed: '' }] };
  const passed = cardView({ ...base, status: 'passed', evidence }, { graded: true, hintsTotal: 0 }, en);
  assert.deepEqual(passed.evidence, { at: evidence.at, lines: ['container_running: container /web: image nginx, running', 'script: -'] });
  assert.equal(cardView({ ...base, status: 'failing', evidence }, { graded: true, hintsTotal: 0 }, en).evidence, undefined);
  assert.equal(cardView({ ...base, status: 'passed', evidence }, { graded: false, hintsTotal: 0 }, en).evidence, undefined);
});
