/**
 * /metrics against a real server with a real sandbox: what Prometheus scrapes
 * follows what happened (a sandbox started, a terminal open, checks run, an
 * engine call failed, requests answered), and only those allowed may read it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { newLearner, startTestBerth, testConfig, type TestBerth } from '../helpers/berth.ts';
import { TestTerminal } from '../helpers/terminal-client.ts';
import { handleOf } from '../../sandbox-server/src/identity.ts';

/** The value of one sample line, e.g. `berth_sandboxes{state="ready"}`; undefined when absent. */
function sample(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

describe('metrics', () => {
  let berth: TestBerth;
  const scrape = async () => {
    const res = await fetch(`${berth.origin}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    return res.text();
  };

  before(async () => {
    berth = await startTestBerth(testConfig({ BERTH_REGISTRY: 'off' }));
  });
  after(async () => {
    await berth?.destroy();
  });

  test('a fresh server reports no sandboxes, no sessions, and its process memory', async () => {
    const text = await scrape();
    assert.equal(sample(text, 'berth_terminal_sessions'), 0);
    assert.equal(sample(text, 'berth_sandbox_queue_length'), 0);
    assert.equal(sample(text, 'berth_sandbox_start_seconds_count'), 0);
    assert.doesNotMatch(text, /^berth_sandboxes\{/m);
    assert.ok(sample(text, 'process_resident_memory_bytes')! > 10 * 1024 * 1024);
    assert.ok(sample(text, 'nodejs_heap_size_used_bytes')! > 0);
  });

  test('a learner with a terminal shows up: sandbox ready, session open, start latency, checks, requests', async () => {
    const cookie = await newLearner(berth);
    const term = new TestTerminal(berth.origin, { cookie, hello: { cols: 100, rows: 30, lesson: '04-containers', lang: 'en' } });
    await term.waitForState('ready', 90_000);
    await term.run('true');
    // A fresh lesson's tasks read neutral (pending) until tried, so the run shows in the metric, not in the states.
    const deadline = Date.now() + 30_000;
    let text = await scrape();
    while (!(sample(text, 'berth_exercise_check_seconds_count')! >= 1)) {
      assert.ok(Date.now() < deadline, 'a check run finished within 30 s');
      await new Promise((r) => setTimeout(r, 250));
      text = await scrape();
    }
    console.log(`# ${text.split('\n').filter((l) => /^berth_(sandboxes|terminal_sessions|sandbox_start_seconds_(sum|count)|exercise_check_seconds_(sum|count)) /.test(l)).join('; ')}`);
    assert.equal(sample(text, 'berth_sandboxes{state="ready"}'), 1);
    assert.equal(sample(text, 'berth_terminal_sessions'), 1);
    assert.equal(sample(text, 'berth_sandbox_start_seconds_count'), 1);
    const startSeconds = sample(text, 'berth_sandbox_start_seconds_sum')!;
    assert.ok(startSeconds > 0.2 && startSeconds < 90, `start took ${startSeconds} s`);
    assert.ok(sample(text, 'berth_exercise_check_seconds_count')! >= 1);
    assert.ok(sample(text, 'berth_exercise_check_seconds_sum')! > 0);
    assert.equal(sample(text, 'berth_terminal_upgrades_total{outcome="accepted"}'), 1);
    assert.ok(sample(text, 'berth_http_requests_total{route="/api/session",status="200"}')! >= 1);

    term.close();
    await term.waitForClose();
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(sample(await scrape(), 'berth_terminal_sessions'), 0);
  });

  test('refusals and failed engine calls are counted', async () => {
    const refused = new TestTerminal(berth.origin, { cookie: 'berth_learner=forged', hello: false });
    await assert.rejects(refused.opened, /401/);
    refused.ws.terminate();
    await fetch(`${berth.origin}/api/no-such-thing`);

    // A container squatting on the name of a new learner's sandbox: the engine refuses the create.
    const cookie = await newLearner(berth);
    const handle = handleOf(cookie.split('=')[1]!);
    const docker = berth.runtime.docker;
    const squatter = await docker.createContainer({ name: `berth-${berth.config.instance}-sbx-${handle.slice(0, 16)}`, Image: berth.config.sandboxImage, Cmd: ['true'] });
    const before = sample(await scrape(), 'berth_engine_errors_total{operation="create"}') ?? 0;
    try {
      const term = new TestTerminal(berth.origin, { cookie });
      await assert.rejects(term.waitForState('ready', 60_000), /failed/);
      term.close();
      const text = await scrape();
      console.log(`# create errors ${before} -> ${sample(text, 'berth_engine_errors_total{operation="create"}')}`);
      assert.equal(sample(text, 'berth_engine_errors_total{operation="create"}'), before + 1);
      assert.equal(sample(text, 'berth_sandboxes{state="failed"}'), 1);
      assert.equal(sample(text, 'berth_terminal_upgrades_total{outcome="auth"}'), 1);
      assert.equal(sample(text, 'berth_http_requests_total{route="/api/other",status="404"}'), 1);
    } finally {
      await squatter.remove({ force: true });
    }
  });
});

describe('metrics access', () => {
  let berth: TestBerth;
  before(async () => {
    berth = await startTestBerth(testConfig({ BERTH_REGISTRY: 'off', BERTH_METRICS_TOKEN: 'scrape-me-0123456789' }));
  });
  after(async () => {
    await berth?.destroy();
  });

  test('with a token set, /metrics needs it, even from loopback', async () => {
    const get = (authorization?: string) => fetch(`${berth.origin}/metrics`, { headers: authorization ? { authorization } : {} });
    assert.equal((await get()).status, 401);
    assert.equal((await get('Bearer wrong-token')).status, 401);
    const ok = await get('Bearer scrape-me-0123456789');
    assert.equal(ok.status, 200);
    assert.match(await ok.text(), /^berth_terminal_sessions 0$/m);
  });
});
