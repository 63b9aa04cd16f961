import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { LIMIT_MARKER, Recorder } from './recorder.ts';

const learner = 'a'.repeat(32);
const log = pino({ level: 'silent' });
const events = (path: string) => readFileSync(path, 'utf8').trim().split('\n').slice(1).map((l) => JSON.parse(l) as [number, string, string]);

function recorder(maxBytes = 64 * 1024, classId: string | null = 'c1') {
  const dir = mkdtempSync(join(tmpdir(), 'berth-rec-'));
  return { dir, rec: new Recorder({ dir, maxBytes, shouldRecord: () => classId ?? undefined, log }), file: (lesson: string) => join(dir, 'c1', learner, `${lesson}.cast`) };
}

test('a character split over two chunks is recorded whole', async () => {
  const { rec, file } = recorder();
  rec.pageOpened(learner, 'l1', 80, 24);
  const bytes = Buffer.from('가나');
  rec.output(learner, bytes.subarray(0, 4));
  rec.output(learner, bytes.subarray(4));
  await rec.flush();
  assert.equal(events(file('l1')).map((e) => e[2]).join(''), '가나');
  rec.close();
});

test('nothing is recorded for a learner in no class or on no lesson page', async () => {
  const none = recorder(64 * 1024, null);
  none.rec.pageOpened(learner, 'l1', 80, 24);
  none.rec.output(learner, Buffer.from('x'));
  await none.rec.flush();
  assert.equal(existsSync(join(none.dir, 'c1')), false);
  const noPage = recorder();
  noPage.rec.output(learner, Buffer.from('x'));
  assert.equal(existsSync(join(noPage.dir, 'c1')), false);
  none.rec.close();
  noPage.rec.close();
});

test('the cap ends a recording with a marker, and it stays ended when reopened', async () => {
  const { dir, rec, file } = recorder(4096);
  rec.pageOpened(learner, 'l1', 80, 24);
  for (let i = 0; i < 100; i++) rec.output(learner, Buffer.from(`line ${i} `.repeat(10)));
  await rec.flush();
  rec.close();
  const size = readFileSync(file('l1')).length;
  assert.ok(size <= 4096, `${size}`);
  assert.deepEqual(events(file('l1')).at(-1)!.slice(1), ['m', LIMIT_MARKER]);
  const again = new Recorder({ dir, maxBytes: 4096, shouldRecord: () => 'c1', log });
  again.pageOpened(learner, 'l1', 80, 24);
  again.output(learner, Buffer.from('more'));
  await again.flush();
  assert.equal(readFileSync(file('l1')).length, size);
  again.close();
});

test('markers once per exercise, on the current lesson; forget removes every file', async () => {
  const { dir, rec, file } = recorder();
  rec.pageOpened(learner, 'l1', 80, 24);
  rec.output(learner, Buffer.from('$ '));
  rec.passed(learner, 'l1', 'ex');
  rec.passed(learner, 'l1', 'ex');
  rec.passed(learner, 'other', 'ex2');
  await rec.flush();
  assert.deepEqual(events(file('l1')).filter((e) => e[1] === 'm').map((e) => e[2]), ['ex']);
  rec.forget(learner);
  assert.equal(existsSync(join(dir, 'c1', learner)), false);
  rec.close();
});

test('a recording that cannot be written costs the recording, not the caller', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-rec-'));
  const { writeFileSync } = await import('node:fs');
  writeFileSync(join(dir, 'c1'), 'a file where the class directory should be');
  const rec = new Recorder({ dir, maxBytes: 64 * 1024, shouldRecord: () => 'c1', log });
  rec.pageOpened(learner, 'l1', 80, 24);
  assert.doesNotThrow(() => rec.output(learner, Buffer.from('x')));
  assert.doesNotThrow(() => rec.passed(learner, 'l1', 'ex'));
  rec.close();
});
