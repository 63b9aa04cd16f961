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
