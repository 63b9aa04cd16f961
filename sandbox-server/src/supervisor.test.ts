import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { EXIT_CONFIG, restartDelay, superviseServer } from './supervisor.ts';

const log = pino({ level: 'silent' });

/** A stand-in server: appends a line to `runs` each start, then does what `body` says. */
function entry(dir: string, body: string): string {
  const file = join(dir, 'entry.mjs');
  writeFileSync(file, `import { appendFileSync } from 'node:fs';\nappendFileSync(${JSON.stringify(join(dir, 'runs'))}, 'run\\n');\n${body}\n`);
  return file;
}
const runs = (dir: string) => readFileSync(join(dir, 'runs'), 'utf8').split('\n').filter(Boolean).length;

test('restarts back off from 1 s to 30 s', () => {
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7].map(restartDelay), [1000, 2000, 4000, 8000, 16000, 30000, 30000]);
});

test('a server that came up and died is started again; stop ends it for good', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-supervisor-'));
  try {
    // The first two starts crash after listening; the third keeps running.
    const script = entry(dir, `
      import { readFileSync } from 'node:fs';
      const n = readFileSync(${JSON.stringify(join(dir, 'runs'))}, 'utf8').split('\\n').filter(Boolean).length;
      process.send({ t: 'listening' });
      if (n < 3) setTimeout(() => process.exit(1), 20);
      else { process.on('SIGTERM', () => process.exit(0)); setInterval(() => {}, 1000); }
    `);
    const sup = superviseServer({ log, entry: script, delay: () => 10 });
    for (let i = 0; i < 100 && (!safeRuns(dir) || safeRuns(dir) < 3); i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(runs(dir), 3, 'started three times');
    await new Promise((r) => setTimeout(r, 300));
    sup.stop('SIGTERM');
    assert.equal(await sup.done, 0);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(runs(dir), 3, 'not restarted after the stop');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

function safeRuns(dir: string): number {
  try {
    return runs(dir);
  } catch {
    return 0;
  }
}

test('a bad setting or a server that never came up is not restarted', async () => {
  for (const [body, status] of [[`process.exit(${EXIT_CONFIG})`, EXIT_CONFIG], ['process.exit(1)', 1]] as const) {
    const dir = mkdtempSync(join(tmpdir(), 'berth-supervisor-'));
    try {
      const sup = superviseServer({ log, entry: entry(dir, body), delay: () => 10 });
      assert.equal(await sup.done, status);
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(runs(dir), 1, body);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
});
