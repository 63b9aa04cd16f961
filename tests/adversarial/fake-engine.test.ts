/**
 * The learner owns their engine's socket: they can move it aside and answer in the
 * engine's place. The server's engine-events watcher (`docker events` in the
 * sandbox) must then treat what it reads as hostile: here a stand-in engine serves
 * one event whose Type is 100 MB long. Joining that line chunk by chunk costs the
 * square of its length on the server's event loop, for every learner; the watcher
 * must drop the stream after a few hundred bytes, with memory and event-loop delay
 * bounded.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { newLearner, startTestBerth, type TestBerth } from '../helpers/berth.ts';
import { TestTerminal } from '../helpers/terminal-client.ts';
import { sandboxOf, sh, sleep, waitFor } from './helpers.ts';

/** An HTTP server on a unix socket that answers /_ping like an engine and /events with one 100 MB event. */
const FAKE_ENGINE = String.raw`
import os, socket
path = '/x/docker.sock'
if os.path.exists(path): os.unlink(path)
s = socket.socket(socket.AF_UNIX); s.bind(path); os.chmod(path, 0o777); s.listen(8)
print('listening', flush=True)
while True:
    c, _ = s.accept()
    req = c.recv(65536).decode('latin1')
    target = req.split(' ')[1] if ' ' in req else '/'
    try:
        if '/events' in target:
            c.sendall(b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nApi-Version: 1.45\r\nConnection: close\r\n\r\n{"Type":"')
            chunk = b'a' * (1 << 20)
            for _ in range(100): c.sendall(chunk)
            c.sendall(b'","Action":"x","time":1}\n')
            print('sent the event', flush=True)
        else:
            c.sendall(b'HTTP/1.1 200 OK\r\nApi-Version: 1.45\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\nOK')
    except OSError:
        pass
    c.close()
`;

describe('adversarial: a stand-in engine socket', () => {
  let berth: TestBerth;
  let term: TestTerminal;
  let sandbox: string;

  before(async () => {
    berth = await startTestBerth();
    const cookie = await newLearner(berth);
    term = new TestTerminal(berth.origin, { cookie });
    await term.waitForState('ready', 90_000);
    sandbox = await sandboxOf(berth, cookie);
  });
  after(async () => {
    term?.close();
    await berth?.destroy();
  });

  test('control: the watcher reads the real engine\'s events', async () => {
    const types: string[] = [];
    const stop = await berth.runtime.watchEvents(sandbox, (type) => types.push(type));
    try {
      await sleep(500);
      await sh(term, 'docker volume create probe-vol >/dev/null');
      await waitFor(() => types.includes('volume'), 10_000, 'a volume event');
    } finally {
      stop();
    }
  });

  test('a 100 MB event line is dropped with memory and event-loop delay bounded', async (t) => {
    // As the learner: the real socket moves aside, a nested container answers in its place.
    const out = await sh(term, [
      'mv ~/.run/docker.sock ~/.run/real.sock',
      `docker -H unix://$HOME/.run/real.sock run -d --name fake -v $HOME/.run:/x python:3.13-slim python3 -c '${FAKE_ENGINE.replaceAll("'", "'\\''")}' >/dev/null`,
      'for i in $(seq 50); do [ -S ~/.run/docker.sock ] && break; sleep 0.2; done',
      'curl -s --unix-socket ~/.run/docker.sock http://x/_ping; echo " fake-up"',
    ].join('; '), 120_000);
    assert.match(out, /OK fake-up/, `the stand-in answers: ${out.slice(-400)}`);

    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    const rssBefore = process.memoryUsage().rss;
    let peakRss = rssBefore;
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);
    const types: string[] = [];
    const began = Date.now();
    const stop = await berth.runtime.watchEvents(sandbox, (type) => types.push(type));
    try {
      // The stand-in says when the whole event went out; the CLI then prints it as one line.
      const sent = async () => /sent the event/.test(await sh(term, 'docker -H unix://$HOME/.run/real.sock logs fake 2>&1 | tail -2'));
      let delivered = false;
      for (let i = 0; i < 60 && !delivered; i++) {
        await sleep(500);
        delivered = await sent();
      }
      await sleep(5000); // what the server does with the line happens now
      const ms = Date.now() - began;
      clearInterval(sampler);
      delay.disable();
      const maxDelayMs = delay.max / 1e6;
      const growthMb = (peakRss - rssBefore) / 2 ** 20;
      t.diagnostic(`100 MB event delivered=${delivered}, watched for ${ms} ms; event loop delay max ${maxDelayMs.toFixed(1)} ms, p99 ${(delay.percentile(99) / 1e6).toFixed(1)} ms; server RSS +${growthMb.toFixed(1)} MiB`);
      assert.ok(delivered, 'the attack reached the watcher\'s docker events');
      assert.deepEqual(types, [], 'no event was taken from the stand-in');
      assert.ok(maxDelayMs < 250, `event-loop delay stayed bounded: ${maxDelayMs.toFixed(1)} ms`);
      assert.ok(growthMb < 64, `server memory stayed bounded: +${growthMb.toFixed(1)} MiB`);
    } finally {
      stop();
      clearInterval(sampler);
      await sh(term, 'docker -H unix://$HOME/.run/real.sock rm -f fake >/dev/null; mv -f ~/.run/real.sock ~/.run/docker.sock').catch(() => '');
    }
  });
});
