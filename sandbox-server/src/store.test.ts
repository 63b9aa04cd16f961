import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store } from './store.ts';

test('learners persist across reopening the store, and migrations run once', () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-store-'));
  try {
    const path = join(dir, 'sub', 'berth.db');
    const a = new Store(path);
    a.addLearner('h1');
    a.addLearner('h1');
    assert.equal(a.hasLearner('h1'), true);
    assert.equal(a.hasLearner('h2'), false);
    a.close();
    const b = new Store(path);
    assert.equal(b.hasLearner('h1'), true);
    const applied = b.db.prepare('SELECT COUNT(*) AS n FROM migrations').get() as { n: number };
    assert.equal(applied.n, 3);
    const mode = b.db.prepare('PRAGMA journal_mode').get() as { journal_mode: string };
    assert.equal(mode.journal_mode, 'wal');
    b.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('progress: first pass kept, attempts and hints counted, reset clears', () => {
  const store = new Store(':memory:');
  store.markPassed('L', 'les', 'ex', 1000);
  store.markPassed('L', 'les', 'ex', 2000);
  store.addAttempt('L', 'les', 'ex2');
  store.addAttempt('L', 'les', 'ex2');
  assert.equal(store.useHint('L', 'les', 'ex2', 2), 1);
  assert.equal(store.useHint('L', 'les', 'ex2', 2), 2);
  assert.equal(store.useHint('L', 'les', 'ex2', 2), 2, 'capped at the number of hints');
  store.revealSolution('L', 'les', 'ex2');
  store.recordScore('L', 'final', 2, 3);
  store.saveQuizAnswers('L', 'les', 'q', [[0], [1, 2]]);
  store.saveQuizAnswers('L', 'les', 'q', [[1], [2]]);
  assert.deepEqual(store.quizAnswers('L', 'les', 'q'), [[1], [2]]);
  const rows = store.progress('L');
  assert.deepEqual(rows.map((r) => [r.exercise, r.firstPassedAt, r.attempts, r.hintsUsed, r.solutionRevealedAt !== null]), [
    ['ex', 1000, 0, 0, false],
    ['ex2', null, 2, 2, true],
  ]);
  assert.deepEqual(store.progress('other'), []);
  assert.deepEqual(store.scores('L').map((s) => [s.lesson, s.passed, s.total]), [['final', 2, 3]]);
  store.resetProgress('L');
  assert.deepEqual(store.progress('L'), []);
  assert.deepEqual(store.scores('L'), []);
  assert.equal(store.quizAnswers('L', 'les', 'q'), undefined);
  store.close();
});

test('writes of one message commit together or not at all; WAL with synchronous=NORMAL', () => {
  const store = new Store(':memory:');
  store.addLearner('l1');
  assert.throws(() =>
    store.transaction(() => {
      store.addAttempt('l1', 'lesson', 'a');
      store.transaction(() => store.markPassed('l1', 'lesson', 'b')); // joins the outer one
      throw new Error('disk full');
    }),
  );
  assert.deepEqual(store.progress('l1'), [], 'nothing of the failed message was kept');
  store.transaction(() => {
    store.addAttempt('l1', 'lesson', 'a');
    store.markPassed('l1', 'lesson', 'b');
  });
  assert.deepEqual(store.progress('l1').map((r) => [r.exercise, r.attempts, r.firstPassedAt !== null]), [['a', 1, false], ['b', 0, true]]);
  assert.equal((store.db.prepare('PRAGMA synchronous').get() as { synchronous: number }).synchronous, 1, 'NORMAL');
  store.close();
});
