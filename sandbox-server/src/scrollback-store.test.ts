import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ScrollbackStore } from './scrollback-store.ts';

const a = 'a'.repeat(64);
const b = 'b'.repeat(64);

function withStore(maxBytes: number, fn: (store: ScrollbackStore, dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'berth-scrollback-'));
  try {
    fn(new ScrollbackStore(join(dir, 'scrollback'), maxBytes), join(dir, 'scrollback'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('saves and loads a learner\'s scrollback, private to the server user', () => {
  withStore(1024, (store, dir) => {
    assert.equal(store.load(a), undefined);
    store.save(a, Buffer.from('$ echo hi\r\nhi\r\n'));
    assert.equal(store.load(a)?.toString(), '$ echo hi\r\nhi\r\n');
    assert.equal(statSync(join(dir, `${a}.bin`)).mode & 0o777, 0o600);
    store.save(a, Buffer.alloc(0));
    assert.equal(store.load(a), undefined, 'empty scrollback removes the file');
  });
});

test('loads at most the newest maxBytes', () => {
  withStore(4, (store) => {
    store.save(a, Buffer.from('0123456789'));
    assert.equal(store.load(a)?.toString(), '6789');
  });
});

test('prune keeps only the given learners', () => {
  withStore(1024, (store, dir) => {
    store.save(a, Buffer.from('x'));
    store.save(b, Buffer.from('y'));
    assert.equal(store.prune(new Set([b])), 1);
    assert.deepEqual(readdirSync(dir), [`${b}.bin`]);
  });
});

test('refuses names that are not learner handles', () => {
  withStore(1024, (store) => {
    assert.throws(() => store.save('../../etc/passwd', Buffer.from('x')), /not a learner handle/);
  });
});
