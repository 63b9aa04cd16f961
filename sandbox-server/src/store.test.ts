import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, statSync } from 'node:fs';
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
    assert.equal(applied.n, 8);
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
  store.markTried('L', 'les', 'ex3', 500);
  store.markTried('L', 'les', 'ex3', 900);
  store.recordScore('L', 'final', 2, 3);
  store.saveQuizAnswers('L', 'les', 'q', [[0], [1, 2]]);
  store.saveQuizAnswers('L', 'les', 'q', [[1], [2]]);
  assert.deepEqual(store.quizAnswers('L', 'les', 'q'), [[1], [2]]);
  const rows = store.progress('L');
  assert.deepEqual(rows.map((r) => [r.exercise, r.firstPassedAt, r.attempts, r.hintsUsed, r.solutionRevealedAt !== null]), [
    ['ex', 1000, 0, 0, false],
    ['ex2', null, 2, 2, true],
    ['ex3', null, 0, 0, false],
  ]);
  assert.deepEqual(rows.map((r) => r.triedAt !== null), [false, true, true], 'a Check press counts as a try');
  assert.equal(rows[2]!.triedAt, 500, 'the first try is kept');
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

test('the data directory is 700 and the database with its -wal and -shm files 600, also for files from before', () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-store-'));
  try {
    const data = join(dir, 'data');
    const path = join(data, 'berth.db');
    const mode = (p: string) => (statSync(p).mode & 0o777).toString(8);
    const a = new Store(path);
    a.addLearner('h1'); // WAL and shared memory now exist
    assert.deepEqual([mode(data), mode(path), mode(`${path}-wal`), mode(`${path}-shm`)], ['700', '600', '600', '600']);
    a.close();
    // An older deployment: world-readable files and directory.
    chmodSync(data, 0o755);
    chmodSync(path, 0o644);
    const b = new Store(path);
    b.addLearner('h2');
    assert.deepEqual([mode(data), mode(path), mode(`${path}-wal`), mode(`${path}-shm`)], ['700', '600', '600', '600']);
    b.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('forgetting a learner deletes their record and everything recorded about them, and no one else\'s', () => {
  const s = new Store(':memory:');
  for (const h of ['me', 'you']) {
    s.addLearner(h);
    s.markPassed(h, 'l1', 'e1');
    s.recordScore(h, 'l1', 1, 1);
    s.saveQuizAnswers(h, 'l1', 'q1', [[0]]);
    s.recordEvidence(h, 'l1', 'e1', [{ type: 'file_exists', observed: `${h}'s file` }]);
  }
  s.forgetLearner('me');
  assert.equal(s.hasLearner('me'), false);
  assert.deepEqual([s.progress('me').length, s.scores('me').length, s.quizAnswers('me', 'l1', 'q1'), s.evidence('me').length], [0, 0, undefined, 0]);
  assert.equal(s.hasLearner('you'), true);
  assert.equal(s.progress('you').length, 1);
  assert.deepEqual(s.evidence('you').map((e) => e.checks), [[{ type: 'file_exists', observed: "you's file" }]]);
  s.close();
});

test('learners from before __Host- cookies are told apart from newer ones', () => {
  const s = new Store(':memory:');
  const since = s.hostCookieSince();
  assert.ok(Math.abs(since - Date.now()) < 60_000, 'recorded when the migration ran');
  s.addLearner('new');
  s.db.prepare('INSERT INTO learners (handle, created_at, last_seen_at) VALUES (?, ?, ?)').run('old', since - 1000, since - 1000);
  assert.equal(s.createdBefore('old', since), true);
  assert.equal(s.createdBefore('new', since), false);
  assert.equal(s.createdBefore('nobody', since), false);
  s.close();
});

test('evidence: the first pass is kept, later records do not replace it', () => {
  const s = new Store(':memory:');
  s.recordEvidence('me', 'l9', 'app', [{ type: 'http', observed: 'HTTP/1.1 200 OK' }], 1000);
  s.recordEvidence('me', 'l9', 'app', [{ type: 'http', observed: 'forged later' }], 2000);
  s.recordEvidence('me', 'l9', 'db', [{ type: 'container_running', observed: 'container /db' }], 3000);
  assert.deepEqual(s.evidence('me', 'l9'), [
    { lesson: 'l9', exercise: 'app', recordedAt: 1000, checks: [{ type: 'http', observed: 'HTTP/1.1 200 OK' }] },
    { lesson: 'l9', exercise: 'db', recordedAt: 3000, checks: [{ type: 'container_running', observed: 'container /db' }] },
  ]);
  assert.equal(s.evidence('me', 'other').length, 0);
  s.close();
});
