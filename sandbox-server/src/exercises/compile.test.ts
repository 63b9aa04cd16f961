import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RECHECK_EXIT, RUNNING_WINDOW_MS, buildRunScript, builtinScript, evidenceScript, normalizeImage, parseRunOutput, shQuote, type CheckPlan } from './compile.ts';
import { failureFeedback } from './feedback.ts';
import { BuiltinCheck, type Exercise } from './schema.ts';

const bash = (script: string) => execFileSync('bash', ['-c', script], { encoding: 'utf8' });
/** The sandbox image's engine proxy, run here as it runs in a sandbox. */
const ENGINE_PROXY = fileURLToPath(new URL('../../../images/sandbox/engine-proxy', import.meta.url));

test('shell quoting survives quotes, $ and backslashes', () => {
  for (const value of [`it's`, '$(rm -rf /)', 'a\\b', '`x`', '"q"', '']) {
    assert.equal(bash(`printf %s ${shQuote(value)}`), value);
  }
});

test('image references normalize to a tag', () => {
  assert.equal(normalizeImage('nginx'), 'nginx:latest');
  assert.equal(normalizeImage('nginx:1.27'), 'nginx:1.27');
  assert.equal(normalizeImage('localhost:5000/app'), 'localhost:5000/app:latest');
  assert.equal(normalizeImage('app@sha256:abc'), 'app@sha256:abc');
});

test('every built-in check type compiles to valid bash', () => {
  const samples: BuiltinCheck[] = [
    { type: 'container_exists', name: 'web' },
    { type: 'container_running', name: 'web' },
    { type: 'container_exited', name: 'web' },
    { type: 'container_uses_image', name: 'web', image: 'nginx' },
    { type: 'container_publishes_port', name: 'web', container_port: 80, host_port: 8080 },
    { type: 'container_has_env', name: 'db', variable: 'MARIADB_ROOT_PASSWORD' },
    { type: 'container_has_mount', name: 'db', destination: '/var/lib/mysql', source: 'dbdata' },
    { type: 'container_on_network', name: 'web', network: 'appnet' },
    { type: 'container_count', min: 1, max: 3 },
    { type: 'image_exists', image: 'myapp:1.0' },
    { type: 'image_absent', image: 'myapp:1.0' },
    { type: 'image_has_label', image: 'myapp', key: 'maintainer' },
    { type: 'image_size_under', image: 'myapp', mb: 50 },
    { type: 'dockerfile_stages', path: 'app/Dockerfile', min: 2 },
    { type: 'volume_exists', name: 'data' },
    { type: 'volume_contains', volume: 'data', path: 'a.txt', contains: "it's here" },
    { type: 'network_exists', name: 'appnet' },
    { type: 'network_has_container', network: 'appnet', container: 'web' },
    { type: 'containers_resolve', from: 'web', to: 'db' },
    BuiltinCheck.parse({ type: 'http', port: 8080, contains: 'Welcome' }),
    { type: 'file_exists', path: 'notes.txt' },
    { type: 'file_contains', path: 'notes.txt', contains: 'hello' },
    { type: 'command_ran', pattern: 'curl .*--unix-socket' },
  ];
  assert.equal(new Set(samples.map((s) => s.type)).size, BuiltinCheck.options.length, 'a sample of every type');
  for (const check of samples) {
    const script = builtinScript(check);
    execFileSync('bash', ['-n', '-c', script]); // syntax only
    for (const lang of ['ko', 'en'] as const) assert.ok(failureFeedback(check, null, lang).length > 5);
  }
});

test('a run script reports every check on its own marker line; forged lines do not count', () => {
  const exercises: Exercise[] = [
    {
      id: 'a',
      title: { ko: 'ㄱ', en: 'a' },
      checks: [
        { type: 'script', run: 'echo "@@berth-check 0.1 0 AAAA"; echo fine; exit 0' },
        { type: 'script', run: 'echo first; echo "last words"; exit 3' },
      ],
      hints: { ko: [], en: [] },
      solution: 'true', near_miss: 'true',
    },
    { id: 'b', title: { ko: 'ㄴ', en: 'b' }, checks: [{ type: 'script', run: 'sleep 30' }], hints: { ko: [], en: [] }, solution: 'true', near_miss: 'true' },
  ];
  const plan: CheckPlan = { exercises };
  const script = buildRunScript(plan, { home: '/tmp', engineProxy: ENGINE_PROXY }).replace('timeout -k 1 10 ', 'timeout -k 1 1 ');
  const out = execFileSync('bash', ['-c', script], { encoding: 'utf8', env: { ...process.env, HOME: '/tmp' } });
  const { results, complete } = parseRunOutput(out, plan);
  assert.equal(complete, true);
  assert.equal(results[0]![0]!.exitCode, 0);
  assert.match(results[0]![0]!.output, /fine/);
  assert.equal(results[0]![1]!.exitCode, 3, 'the forged line inside check 0.0 output did not set 0.1');
  assert.equal(failureFeedback(exercises[0]!.checks[1]!, results[0]![1]!, 'en'), 'last words');
  assert.equal(results[1]![0]!.timedOut, true);
  assert.match(failureFeedback(exercises[1]!.checks[0]!, results[1]![0]!, 'ko'), /오래/);
});

test('a run cut short reports missing checks as null and incomplete', () => {
  const plan: CheckPlan = { exercises: [{ id: 'a', title: { ko: 'ㄱ', en: 'a' }, checks: [{ type: 'file_exists', path: 'x' }], hints: { ko: [], en: [] }, solution: 'true', near_miss: 'true' }] };
  const { results, complete } = parseRunOutput('garbage\n', plan);
  assert.equal(complete, false);
  assert.equal(results[0]![0], null);
});

test('container_running holds only over the window: a just-started container is "ask again", not a pass', () => {
  // A stand-in docker that answers inspect with "<running> <StartedAt>".
  const dir = mkdtempSync(join(tmpdir(), 'berth-running-'));
  try {
    writeFileSync(join(dir, 'docker'), '#!/bin/sh\n[ -n "$FAKE" ] || exit 1\necho "$FAKE"\n', { mode: 0o755 });
    const script = builtinScript({ type: 'container_running', name: 'color' });
    const rc = (fake: string) => {
      try {
        execFileSync('bash', ['-c', script], { env: { PATH: `${dir}:/usr/bin:/bin`, FAKE: fake }, stdio: 'pipe' });
        return 0;
      } catch (err) {
        return (err as { status: number }).status;
      }
    };
    const ago = (ms: number) => new Date(Date.now() - ms).toISOString();
    assert.equal(rc(`true ${ago(200)}`), RECHECK_EXIT, 'running for 0.2 s: not decided yet');
    assert.equal(rc(`true ${ago(RUNNING_WINDOW_MS + 1000)}`), 0, 'running for longer than the window');
    assert.equal(rc(`false ${ago(60_000)}`), 1, 'exited');
    assert.equal(rc(''), 1, 'no such container');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a run lists what feedback needs (names of the objects its checks name, the last docker error) on marker lines', () => {
  const plan: CheckPlan = {
    exercises: [{ id: 'a', title: { ko: 'ㄱ', en: 'a' }, checks: [{ type: 'container_exists', name: 'first-hello' }], hints: { ko: [], en: [] }, solution: 'true', near_miss: 'true' }],
  };
  const script = buildRunScript(plan);
  assert.match(script, /berth_extra containers /);
  assert.match(script, /berth_extra lasterr /);
  assert.doesNotMatch(script, /berth_extra images /, 'no listing nobody needs');
  const out = `@@berth-extra containers ${Buffer.from('first_hello\n').toString('base64')}\n@@berth-extra bogus eA==\n@@berth-check 0.0 1 \n@@berth-check end\n`;
  const parsed = parseRunOutput(out, plan);
  assert.deepEqual(parsed.extras, { containers: 'first_hello\n' });
  assert.equal(parsed.results[0]![0]!.exitCode, 1);
});

test('checks see ~ as the learner\'s home, but the programs they run never get it as $HOME (~/.jq, ~/.curlrc are the learner\'s)', () => {
  const home = mkdtempSync(join(tmpdir(), 'berth-home-'));
  try {
    const plan: CheckPlan = {
      exercises: [{ id: 'a', title: { ko: 'ㄱ', en: 'a' }, checks: [{ type: 'script', run: 'echo "tilde=$(cd ~ && pwd) child=$(bash -c \'echo "${HOME:-unset}"\')"' }], hints: { ko: [], en: [] }, solution: 'true', near_miss: 'true' }],
    };
    const out = execFileSync('bash', ['-c', buildRunScript(plan, { home, engineProxy: ENGINE_PROXY })], { encoding: 'utf8', env: { PATH: process.env.PATH, HOME: '/nonexistent' } });
    const { results, engineRefused } = parseRunOutput(out, plan);
    assert.equal(engineRefused, undefined);
    assert.equal(results[0]![0]!.output.trim(), `tilde=${home} child=unset`);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});

test('a stand-in server behind the learner\'s engine socket is refused: every check of the run fails as unverified', async () => {
  const home = mkdtempSync(join(tmpdir(), 'berth-home-'));
  mkdirSync(join(home, '.run'));
  // What a learner would do: move the socket aside and answer checks themselves.
  let served = 0;
  const fake = createServer((c) => {
    c.on('error', () => {});
    c.once('data', () => {
      served++;
      c.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nApi-Version: 1.45\r\n\r\nOK');
    });
  });
  await new Promise<void>((resolve) => fake.listen(join(home, '.run', 'docker.sock'), resolve));
  try {
    const plan: CheckPlan = {
      exercises: [
        { id: 'a', title: { ko: 'ㄱ', en: 'a' }, checks: [{ type: 'script', run: 'curl -sf --unix-socket "${DOCKER_HOST#unix://}" http://docker/_ping' }], hints: { ko: [], en: [] }, solution: 'true', near_miss: 'true' },
        { id: 'b', title: { ko: 'ㄴ', en: 'b' }, checks: [{ type: 'script', run: 'true' }], hints: { ko: [], en: [] }, solution: 'true', near_miss: 'true' },
      ],
    };
    const { stdout } = await promisify(execFile)('bash', ['-c', buildRunScript(plan, { home, engineProxy: ENGINE_PROXY })], { encoding: 'utf8' });
    const { results, engineRefused } = parseRunOutput(stdout, plan);
    assert.equal(served, 0, 'the stand-in never got the check\'s request');
    assert.match(engineRefused ?? '', /not the engine Berth started/);
    for (const r of results.flat()) {
      assert.equal(r?.engineUnverified, true);
      assert.notEqual(r?.exitCode, 0, 'even a check that needs no engine does not pass in a run that was lied to');
    }
    assert.match(failureFeedback(plan.exercises[0]!.checks[0]!, results[0]![0]!, 'en'), /not the one answering/);
  } finally {
    fake.close();
    rmSync(home, { recursive: true, force: true });
  }
});

test('the checker\'s long-lived proxy: the first run starts it, later runs reuse it, and a refusal is still reported per run', async () => {
  const home = mkdtempSync(join(tmpdir(), 'berth-home-'));
  const checkerDir = mkdtempSync(join(tmpdir(), 'berth-checker-'));
  mkdirSync(join(home, '.run'));
  const plan: CheckPlan = {
    exercises: [{ id: 'a', title: { ko: 'ㄱ', en: 'a' }, checks: [{ type: 'script', run: 'curl -sf --unix-socket "${DOCKER_HOST#unix://}" http://docker/_ping' }], hints: { ko: [], en: [] }, solution: 'true', near_miss: 'true' }],
  };
  const run = async () => parseRunOutput((await promisify(execFile)('bash', ['-c', buildRunScript(plan, { home, engineProxy: ENGINE_PROXY, checkerDir })], { encoding: 'utf8' })).stdout, plan);
  const fake = createServer((c) => c.on('error', () => {}).end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK'));
  let pid = 0;
  try {
    const first = await run();
    assert.match(first.engineRefused ?? '', /no listening process|cannot connect/, 'no engine at all: refused');
    pid = Number(readFileSync(join(checkerDir, 'proxy.pid'), 'utf8'));
    assert.ok(pid > 0);
    await new Promise<void>((resolve) => fake.listen(join(home, '.run', 'docker.sock'), resolve));
    const second = await run();
    assert.equal(Number(readFileSync(join(checkerDir, 'proxy.pid'), 'utf8')), pid, 'the same proxy serves the next run');
    assert.match(second.engineRefused ?? '', /not the engine Berth started/, 'its refusal belongs to this run');
    assert.equal(second.results[0]![0]!.engineUnverified, true);
  } finally {
    fake.close();
    if (pid) process.kill(pid);
    rmSync(home, { recursive: true, force: true });
    rmSync(checkerDir, { recursive: true, force: true });
  }
});

test('every built-in check type records evidence; a script check\'s evidence is its output', () => {
  const samples: Record<string, Record<string, unknown>> = {
    container_exists: { name: 'web' }, container_running: { name: 'web' }, container_exited: { name: 'web' },
    container_uses_image: { name: 'web', image: 'nginx' }, container_publishes_port: { name: 'web', container_port: 80 },
    container_has_env: { name: 'web', variable: 'A' }, container_has_mount: { name: 'web', destination: '/d' },
    container_on_network: { name: 'web', network: 'n' }, container_count: { min: 1 }, image_exists: { image: 'nginx' },
    image_absent: { image: 'nginx' }, image_has_label: { image: 'nginx', key: 'k' }, image_size_under: { image: 'nginx', mb: 10 },
    dockerfile_stages: { path: 'Dockerfile', min: 2 }, volume_exists: { name: 'v' }, volume_contains: { volume: 'v', path: 'f' },
    network_exists: { name: 'n' }, network_has_container: { network: 'n', container: 'web' }, containers_resolve: { from: 'a', to: 'b' },
    http: { port: 8080, path: '/' }, file_exists: { path: 'f' }, file_contains: { path: 'f', contains: 'x' }, command_ran: { pattern: 'docker' },
  };
  const types = BuiltinCheck.options.map((o) => (o.shape.type as unknown as { value: string }).value);
  assert.deepEqual(Object.keys(samples).sort(), [...types].sort(), 'a sample per built-in type');
  for (const [type, fields] of Object.entries(samples)) {
    const script = evidenceScript({ type, ...fields } as never);
    assert.ok(script && script.length > 10, `${type} records evidence`);
    assert.doesNotThrow(() => execFileSync('bash', ['-n', '-c', script]), `${type}: valid bash`);
  }
  assert.equal(evidenceScript({ type: 'script', run: 'echo hi' }), undefined);
});
