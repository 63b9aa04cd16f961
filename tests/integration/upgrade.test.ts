/**
 * After an upgrade (a new sandbox image under the same tag), a learner's stopped
 * sandbox is made again from the current image at its next start, with their data:
 * a check run, for one, needs what the current image has (the checker, the engine
 * proxy). Real engine, real sandbox; two tiny images built FROM the sandbox image.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { newLearner, startTestBerth, testConfig, type TestBerth } from '../helpers/berth.ts';
import { TestTerminal } from '../helpers/terminal-client.ts';
import { handleOf } from '../../sandbox-server/src/identity.ts';

const base = process.env.BERTH_SANDBOX_IMAGE ?? 'berth/sandbox:latest';
const tag = `berth/sandbox:upgrade-${randomBytes(4).toString('hex')}`;
/** Builds `tag` FROM the sandbox image with a label of its own: a new image id each time. */
function build(release: string): string {
  execFileSync('docker', ['build', '-q', '-t', tag, '-'], { input: `FROM ${base}\nLABEL org.berth.test-release=${release}\n`, stdio: ['pipe', 'pipe', 'pipe'] });
  return execFileSync('docker', ['image', 'inspect', '-f', '{{.Id}}', tag], { encoding: 'utf8' }).trim();
}

describe('a sandbox from an older image', () => {
  let berth: TestBerth;
  let first: string;
  before(() => {
    first = build('one');
  });
  after(async () => {
    await berth?.destroy();
    execFileSync('docker', ['image', 'rm', '-f', tag, first], { stdio: 'ignore' });
  });

  test('is recreated from the current image at its next start, and keeps the learner\'s files', async () => {
    berth = await startTestBerth(testConfig({ BERTH_SANDBOX_IMAGE: tag, BERTH_WARM_POOL: '0' }));
    const cookie = await newLearner(berth);
    const learner = handleOf(cookie.split('=')[1]!);
    let term = new TestTerminal(berth.origin, { cookie, hello: { cols: 100, rows: 30 } });
    await term.waitForState('ready', 120_000);
    await term.run('echo kept > ~/upgrade.txt');
    term.close();
    await berth.manager.stop(learner);
    const before = (await berth.runtime.find(learner))!;
    assert.equal(before.running, false);
    assert.equal(before.imageId, first);

    const second = build('two'); // the upgrade: same tag, new image
    assert.notEqual(second, first);
    term = new TestTerminal(berth.origin, { cookie, hello: { cols: 100, rows: 30 } });
    try {
      await term.waitForState('ready', 120_000);
      assert.match(await term.run('cat ~/upgrade.txt'), /kept/, 'the learner\'s files are still there');
      const after = (await berth.runtime.find(learner))!;
      assert.notEqual(after.id, before.id, 'a new container');
      assert.equal(after.imageId, second, 'from the current image');
    } finally {
      term.close();
    }
  });
});
