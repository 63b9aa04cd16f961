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
    assert.equal(applied.n, 1);
    const mode = b.db.prepare('PRAGMA journal_mode').get() as { journal_mode: string };
    assert.equal(mode.journal_mode, 'wal');
    b.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
