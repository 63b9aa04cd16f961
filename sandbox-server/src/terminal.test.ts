import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Duplex } from 'node:stream';
import { RingBuffer } from './ring-buffer.ts';
import { MAX_PENDING_INPUT_BYTES, PROMPT_MARKER, SERVER_HIGH_WATER_BYTES, Terminal, type TerminalClient } from './terminal.ts';

/** A fake shell: what the terminal writes lands in `input`; `emit` plays output. */
function fakeShell() {
  const input: Buffer[] = [];
  const stream = new Duplex({
    read() {},
    write(chunk, _enc, cb) {
      input.push(chunk as Buffer);
      cb();
    },
  });
  return { stream, input, resize: async () => {}, emit: (s: string | Buffer) => stream.push(s) };
}

class FakeClient implements TerminalClient {
  backlog = 0;
  pausedByPage = false;
  received: Buffer[] = [];
  private pending: (() => void)[] = [];
  sendOutput(data: Buffer, flushed: () => void): void {
    this.received.push(data);
    this.backlog += data.length;
    this.pending.push(() => {
      this.backlog -= data.length;
      flushed();
    });
  }
  sendReplay(): void {}
  flushAll(): void {
    for (const f of this.pending.splice(0)) f();
  }
  text(): string {
    return Buffer.concat(this.received).toString();
  }
}

const tick = () => new Promise((r) => setImmediate(r));

test('output reaches live clients and the scrollback; input reaches the shell', async () => {
  const shell = fakeShell();
  const ring = new RingBuffer(1024);
  const client = new FakeClient();
  const t = new Terminal(shell, ring, new Set([client]), () => {});
  shell.emit('hello\r\n');
  await tick();
  assert.equal(client.text(), 'hello\r\n');
  assert.equal(ring.contents().toString(), 'hello\r\n');
  t.write(Buffer.from('ls\r'));
  assert.equal(Buffer.concat(shell.input).toString(), 'ls\r');
});

test('a client that falls behind pauses the shell until it catches up', async () => {
  const shell = fakeShell();
  const client = new FakeClient();
  const t = new Terminal(shell, new RingBuffer(1024), new Set([client]), () => {});
  shell.emit(Buffer.alloc(SERVER_HIGH_WATER_BYTES + 1, 'y'));
  await tick();
  assert.equal(t.isPaused, true);
  assert.equal(shell.stream.isPaused(), true);
  client.flushAll();
  assert.equal(t.isPaused, false);
  assert.equal(shell.stream.isPaused(), false);
});

test('a page that asks to pause stops the flow until it resumes', async () => {
  const shell = fakeShell();
  const client = new FakeClient();
  const t = new Terminal(shell, new RingBuffer(1024), new Set([client]), () => {});
  client.pausedByPage = true;
  t.updateFlow();
  assert.equal(t.isPaused, true);
  client.pausedByPage = false;
  t.updateFlow();
  assert.equal(t.isPaused, false);
});

test('the exit callback fires once when the shell ends, and not after close()', async () => {
  let exits = 0;
  const a = fakeShell();
  new Terminal(a, new RingBuffer(64), new Set(), () => exits++);
  a.stream.push(null);
  a.stream.resume();
  a.stream.destroy();
  await tick();
  assert.equal(exits, 1);

  const b = fakeShell();
  const t = new Terminal(b, new RingBuffer(64), new Set(), () => exits++);
  t.close();
  await tick();
  assert.equal(exits, 1);
  assert.equal(t.isOpen, false);
});

test('the prompt marker is seen even when split across chunks, once per prompt', async () => {
  const shell = fakeShell();
  let prompts = 0;
  new Terminal(shell, new RingBuffer(1024), new Set(), () => {}, () => prompts++);
  shell.emit(Buffer.concat([Buffer.from('out\r\n'), PROMPT_MARKER, Buffer.from('$ ')]));
  await tick();
  assert.equal(prompts, 1);
  shell.emit(Buffer.concat([Buffer.from('more'), PROMPT_MARKER.subarray(0, 5)]));
  await tick();
  assert.equal(prompts, 1);
  shell.emit(Buffer.concat([PROMPT_MARKER.subarray(5), Buffer.from('$ ')]));
  await tick();
  assert.equal(prompts, 2);
  shell.emit(Buffer.from('no marker here'));
  await tick();
  assert.equal(prompts, 2);
});

test('input to a shell that does not read is held up to the cap, then dropped', () => {
  const pending: (() => void)[] = [];
  let accepted = 0;
  // A shell whose stdin never drains: each write's callback is held back.
  const stream = new Duplex({
    read() {},
    write(chunk, _enc, cb) {
      accepted += (chunk as Buffer).length;
      pending.push(cb);
    },
  });
  const term = new Terminal({ stream, resize: async () => {} }, new RingBuffer(1024), new Set(), () => {});
  const frame = Buffer.alloc(64 * 1024, 0x61);
  let taken = 0;
  for (let i = 0; i < 200; i++) if (term.write(frame)) taken++;
  assert.equal(taken * frame.length, MAX_PENDING_INPUT_BYTES, 'held exactly up to the cap');
  assert.ok(stream.writableLength + accepted <= MAX_PENDING_INPUT_BYTES + frame.length);
  for (const cb of pending.splice(0)) cb(); // the shell reads again
  assert.equal(term.write(frame), true, 'input flows once the shell drains');
});
