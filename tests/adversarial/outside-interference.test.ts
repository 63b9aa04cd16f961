/**
 * Someone (an operator, the OOM killer, a script) kills or removes a sandbox
 * container behind the server's back: the page is told, the learner reconnects to
 * a working sandbox with the data of its volume, and no duplicate is left behind.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { newLearner, startTestBerth, testConfig, type TestBerth } from '../helpers/berth.ts';
import { TestTerminal } from '../helpers/terminal-client.ts';

let berth: TestBerth | undefined;
after(async () => {
  await berth?.destroy();
});

test('a sandbox killed, then removed, from outside comes back with its data', async () => {
  berth = await startTestBerth(testConfig({ BERTH_WARM_POOL: '0' }));
  const cookie = await newLearner(berth);
  const docker = berth.runtime.docker;

  const term = new TestTerminal(berth.origin, { cookie });
  await term.waitForState('ready', 90_000);
  await term.run('echo survived > ~/.local/share/docker/../note.txt; docker volume create keep-me >/dev/null');
  const [first] = await berth.runtime.listSandboxes();
  assert.ok(first);

  await docker.getContainer(first.id).kill();
  await term.until(() => term.states.at(-1) === 'stopped', 30_000, 'the page to be told its sandbox stopped');
  term.close();
  const again = new TestTerminal(berth.origin, { cookie });
  try {
    await again.waitForState('ready', 90_000);
    assert.match(await again.run('docker volume ls -q'), /keep-me/, 'after a kill: the same engine data');
  } finally {
    again.close();
  }

  const [second] = await berth.runtime.listSandboxes();
  assert.equal(second?.id, first.id, 'a killed sandbox is restarted, not replaced');
  await docker.getContainer(first.id).remove({ force: true });
  const third = new TestTerminal(berth.origin, { cookie });
  try {
    await third.waitForState('ready', 90_000);
    assert.match(await third.run('docker volume ls -q'), /keep-me/, 'after a removal: a new container on the same data volume');
  } finally {
    third.close();
  }
  const sandboxes = await berth.runtime.listSandboxes();
  assert.equal(sandboxes.length, 1, 'exactly one sandbox for the learner');
  assert.notEqual(sandboxes[0]!.id, first.id);
  assert.equal((await berth.runtime.listVolumes()).length, 1, 'and exactly one data volume');
});
