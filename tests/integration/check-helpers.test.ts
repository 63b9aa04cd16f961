/**
 * Every built-in check helper, passing and failing, against a real nested engine.
 * One sandbox is put into a known state; each helper is then evaluated once where
 * it must hold and once where it must not.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { ExerciseChecker } from '../../sandbox-server/src/exercises/live.ts';
import { BuiltinCheck, type Check, type Exercise } from '../../sandbox-server/src/exercises/schema.ts';
import { waitForEngine } from '../../sandbox-server/src/runtime/ready.ts';
import { Store } from '../../sandbox-server/src/store.ts';
import { testConfig } from '../helpers/berth.ts';
import { startToolRuntime, type ToolRuntime } from '../../scripts/lib/tool-runtime.ts';

const image = testConfig().sandboxImage;
const store = new Store(':memory:');
const learner = randomBytes(16).toString('hex');
let tool: ToolRuntime;
let checker: ExerciseChecker;
let id = '';

// The state every "holds" case below describes; the "fails" cases differ by one detail.
const SETUP = `
set -e
docker network create appnet >/dev/null
docker volume create data >/dev/null
mp=$(docker volume inspect -f '{{.Mountpoint}}' data)
echo "hello from the volume" > "$mp/greeting.txt"
docker run -d --name web --network appnet -p 8080:80 -e GREETING=hi -v data:/usr/share/nginx/html/data nginx >/dev/null
docker run -d --name client --network appnet --expose 7000 -P busybox sleep 3600 >/dev/null
docker create --name made hello-world >/dev/null
docker run --name done hello-world >/dev/null
mkdir -p app
printf 'FROM busybox AS build\\nRUN echo built > /out\\nFROM hello-world\\nLABEL org.example.team=berth\\n' > app/Dockerfile
docker build -q -t labelled:1.0 app >/dev/null
echo "remember the berth" > notes.txt
for i in $(seq 30); do curl -sf http://127.0.0.1:8080/ >/dev/null && break; sleep 0.2; done
`;

const holds: BuiltinCheck[] = [
  { type: 'container_exists', name: 'made' },
  { type: 'container_running', name: 'web' },
  { type: 'container_exited', name: 'done' },
  { type: 'container_uses_image', name: 'web', image: 'nginx' },
  { type: 'container_uses_image', name: 'made', image: 'hello-world:latest' },
  { type: 'container_publishes_port', name: 'web', container_port: 80 },
  { type: 'container_publishes_port', name: 'web', container_port: 80, host_port: 8080 },
  { type: 'container_publishes_port', name: 'client', container_port: 7000 }, // -P: only in NetworkSettings.Ports
  { type: 'container_has_env', name: 'web', variable: 'GREETING' },
  { type: 'container_has_env', name: 'web', variable: 'GREETING', value: 'hi' },
  { type: 'container_has_mount', name: 'web', destination: '/usr/share/nginx/html/data', source: 'data' },
  { type: 'container_on_network', name: 'client', network: 'appnet' },
  { type: 'container_count', min: 4, max: 4 },
  { type: 'container_count', min: 2, max: 2, running_only: true },
  { type: 'image_exists', image: 'labelled:1.0' },
  { type: 'image_absent', image: 'never-built' },
  { type: 'image_has_label', image: 'labelled:1.0', key: 'org.example.team', value: 'berth' },
  { type: 'image_size_under', image: 'labelled:1.0', mb: 5 },
  { type: 'dockerfile_stages', path: 'app/Dockerfile', min: 2 },
  { type: 'volume_exists', name: 'data' },
  { type: 'volume_contains', volume: 'data', path: 'greeting.txt', contains: 'hello from' },
  { type: 'network_exists', name: 'appnet' },
  { type: 'network_has_container', network: 'appnet', container: 'web' },
  { type: 'containers_resolve', from: 'client', to: 'web' },
  BuiltinCheck.parse({ type: 'http', port: 8080, status: 200, contains: 'nginx' }),
  BuiltinCheck.parse({ type: 'http', port: 8080, path: '/data/greeting.txt', contains: 'hello from the volume' }),
  { type: 'file_exists', path: 'notes.txt' },
  { type: 'file_contains', path: 'notes.txt', contains: 'the berth' },
  { type: 'command_ran', pattern: '^docker +ps' },
];

const fails: BuiltinCheck[] = [
  { type: 'container_exists', name: 'nobody' },
  { type: 'container_running', name: 'done' },
  { type: 'container_exited', name: 'web' },
  { type: 'container_uses_image', name: 'web', image: 'busybox' },
  { type: 'container_publishes_port', name: 'web', container_port: 443 },
  { type: 'container_publishes_port', name: 'client', container_port: 7000, host_port: 7000 },
  { type: 'container_publishes_port', name: 'web', container_port: 80, host_port: 9090 },
  { type: 'container_has_env', name: 'web', variable: 'MISSING' },
  { type: 'container_has_env', name: 'web', variable: 'GREETING', value: 'bye' },
  { type: 'container_has_mount', name: 'web', destination: '/var/lib/mysql' },
  { type: 'container_on_network', name: 'made', network: 'appnet' },
  { type: 'container_count', min: 5 },
  { type: 'image_exists', image: 'labelled:2.0' },
  { type: 'image_absent', image: 'labelled:1.0' },
  { type: 'image_has_label', image: 'labelled:1.0', key: 'org.example.team', value: 'other' },
  { type: 'image_size_under', image: 'nginx', mb: 1 },
  { type: 'dockerfile_stages', path: 'app/Dockerfile', min: 3 },
  { type: 'volume_exists', name: 'nodata' },
  { type: 'volume_contains', volume: 'data', path: 'greeting.txt', contains: 'goodbye' },
  { type: 'network_exists', name: 'othernet' },
  { type: 'network_has_container', network: 'appnet', container: 'made' },
  { type: 'containers_resolve', from: 'client', to: 'nothing-by-this-name' },
  { type: 'containers_resolve', from: 'done', to: 'made' }, // default bridge, not running: no DNS
  BuiltinCheck.parse({ type: 'http', port: 8080, path: '/missing', status: 200 }),
  BuiltinCheck.parse({ type: 'http', port: 8081 }),
  { type: 'file_exists', path: 'absent.txt' },
  { type: 'file_contains', path: 'notes.txt', contains: 'forget' },
  { type: 'command_ran', pattern: '^docker +compose' },
];

const asExercises = (checks: Check[]): Exercise[] =>
  checks.map((check, i) => ({ id: `c${i}`, title: { ko: 'ㄱ', en: 'c' }, checks: [check], hints: { ko: [], en: [] }, solution: 'true', near_miss: 'true' }));

before(async () => {
  tool = await startToolRuntime('helpers', image);
  const { runtime } = tool;
  checker = new ExerciseChecker({ runtime, store, log: pino({ level: 'silent' }), lessons: new Map() });
  const info = await runtime.create(learner);
  id = info.id;
  await runtime.start(id);
  await waitForEngine(runtime, id, learner, 90_000);
  const setup = await runtime.exec(id, ['bash', '-c', SETUP], 240_000);
  assert.equal(setup.exitCode, 0, `setup failed: ${setup.stdout}${setup.stderr}`);
  // History as the interactive shell writes it (command_ran reads it).
  await runtime.exec(id, ['bash', '-c', 'echo "docker ps -a" >> ~/.bash_history'], 5000);
});
after(async () => {
  checker?.close();
  store.close();
  await tool?.runtime.destroy(learner).catch(() => {});
  await tool?.close();
});

test('a sample of every helper type is covered both ways', () => {
  const covered = new Set([...holds, ...fails].map((c) => c.type));
  assert.deepEqual([...covered].sort(), [...BuiltinCheck.options.map((o) => o.shape.type.value)].sort());
  for (const type of covered) {
    assert.ok(holds.some((c) => c.type === type), `${type} has a passing case`);
    assert.ok(fails.some((c) => c.type === type), `${type} has a failing case`);
  }
});

test('each helper passes where the sandbox matches', async () => {
  const results = await checker.evaluateOnce(id, 'helpers', asExercises(holds), false);
  const wrong = results.flatMap((r, i) => (r.passed ? [] : [`${JSON.stringify(holds[i])}: ${r.feedback[0]}`]));
  assert.deepEqual(wrong, []);
});

test('each helper fails, with feedback, where the sandbox differs', async () => {
  const results = await checker.evaluateOnce(id, 'helpers', asExercises(fails), false);
  const wrong = results.flatMap((r, i) => (r.passed ? [JSON.stringify(fails[i])] : []));
  assert.deepEqual(wrong, []);
  for (const r of results) assert.ok(r.feedback[0]!.length > 10);
});

// Live checks re-run on every engine event: a check that fires one (docker exec,
// docker run) would keep them running without end.
test('checks fire no engine events', async () => {
  const since = (await tool.runtime.exec(id, ['bash', '-c', 'date +%s.%N'], 5000)).stdout.trim();
  await checker.evaluateOnce(id, 'helpers', asExercises([...holds, ...fails]), false);
  const events = await tool.runtime.exec(id, ['bash', '-c', `docker events --since ${since} --until "$(date +%s.%N)" --format '{{.Type}} {{.Action}} {{.Actor.Attributes.name}}'`], 10_000);
  assert.equal(events.stdout.trim(), '', 'engine events during a check run');
});
