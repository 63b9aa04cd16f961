/**
 * The host's Docker engine restarts under a running Berth (an upgrade, a crash):
 * the server survives, the learner's page is told, reconnecting brings the sandbox
 * back with its files, nested containers and images, the catalog registry is back,
 * and nothing leaks. Needs root (it restarts dockerd), as CI and the test host run.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, openSync, readFileSync } from 'node:fs';
import Docker from 'dockerode';
import { newLearner, startTestBerth, testConfig, type TestBerth } from '../helpers/berth.ts';
import { chainNames } from '../../sandbox-server/src/runtime/firewall.ts';
import { TestTerminal } from '../helpers/terminal-client.ts';

async function engineAnswers(docker: Docker): Promise<boolean> {
  try {
    await docker.ping();
    return true;
  } catch {
    return false;
  }
}

/** Restarts dockerd the way it was started: systemd if it runs it, else the same command line. */
async function restartEngine(docker: Docker): Promise<void> {
  let systemd = false;
  try {
    execFileSync('systemctl', ['is-active', '--quiet', 'docker'], { stdio: 'ignore' });
    systemd = true;
  } catch {
    // no systemd, or it does not run docker
  }
  if (systemd) {
    execFileSync('systemctl', ['restart', 'docker'], { stdio: 'ignore' });
  } else {
    const pid = Number(execFileSync('pgrep', ['-xo', 'dockerd'], { encoding: 'utf8' }).trim());
    assert.ok(pid > 0, 'dockerd is running');
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    process.kill(pid, 'SIGTERM');
    const deadline = Date.now() + 60_000;
    while (existsSync(`/proc/${pid}`)) {
      if (Date.now() > deadline) throw new Error('dockerd did not stop within 60 s');
      await new Promise((r) => setTimeout(r, 200));
    }
    const logFd = openSync('/var/log/dockerd.log', 'a');
    spawn(argv[0]!, argv.slice(1), { detached: true, stdio: ['ignore', logFd, logFd] }).unref();
  }
  const deadline = Date.now() + 90_000;
  while (!(await engineAnswers(docker))) {
    if (Date.now() > deadline) throw new Error('the engine did not come back within 90 s');
    await new Promise((r) => setTimeout(r, 250));
  }
}

let berth: TestBerth | undefined;
after(async () => {
  await berth?.destroy();
});

test('an engine restart ends in a clean state: the learner resumes with their work', { skip: process.getuid?.() !== 0 && 'needs root to restart dockerd' }, async () => {
  berth = await startTestBerth(testConfig());
  const cookie = await newLearner(berth);
  const term = new TestTerminal(berth.origin, { cookie });
  await term.waitForState('ready', 90_000);
  await term.run('echo work > ~/work.txt; docker run -d --name web busybox sleep 3600 >/dev/null');

  // The instance's firewall jumps (runtime/firewall.ts), as the host's iptables lists them.
  const jumps = () => execFileSync('iptables-save', { encoding: 'utf8' }).split('\n').filter((l) => l.includes(`-j ${chainNames(berth!.config.instance).forward}`));
  assert.ok(jumps().length > 0, 'the sandbox firewall is in place');

  const began = Date.now();
  await restartEngine(berth.runtime.docker);
  const downMs = Date.now() - began;
  assert.ok(jumps().length > 0, 'the sandbox firewall survived the engine restart');

  // The page learns its sandbox went away (its shell ended with the engine).
  await term.until(() => term.states.at(-1) === 'stopped' || term.closed !== undefined, 60_000, 'the page to be told');
  assert.equal((await fetch(`${berth.origin}/healthz`)).status, 200, 'the server is up and sees the engine again');
  term.close();

  const back = new TestTerminal(berth.origin, { cookie });
  try {
    const resumeStarted = Date.now();
    await back.waitForState('ready', 90_000);
    const resumeMs = Date.now() - resumeStarted;
    const out = await back.run('cat ~/work.txt; docker ps -a --format "{{.Names}}"; docker rm -f web >/dev/null; docker pull -q busybox:1', 120_000);
    assert.match(out, /^work\r?$/m, 'the learner\'s files survived');
    assert.match(out, /^web\r?$/m, 'their nested container survived');
    assert.match(out, /busybox:1/, 'the catalog registry is back: pulls work');
    console.log(`# engine restart: down and back in ${downMs} ms; learner's sandbox ready again ${resumeMs} ms after reconnecting`);
  } finally {
    back.close();
  }
  const sandboxes = await berth.runtime.listSandboxes();
  assert.equal(sandboxes.length, 1, 'still one sandbox for the learner, no duplicate');
});
