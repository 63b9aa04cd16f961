import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EXIT_CONFIG } from '../sandbox-server/src/supervisor.ts';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const UNIT = join(root, 'packaging/berth.service');

/** key -> values of one section of a systemd unit. */
function section(text: string, name: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let current = '';
  for (const line of text.split('\n')) {
    const header = /^\[(.+)\]$/.exec(line.trim());
    if (header) current = header[1]!;
    else if (current === name && /^[A-Za-z]+=/.test(line)) {
      const [k, ...v] = line.split('=');
      out.set(k!, [...(out.get(k!) ?? []), v.join('=')]);
    }
  }
  return out;
}

test('the systemd unit restarts the server for ever, but not for a bad setting', () => {
  const service = section(readFileSync(UNIT, 'utf8'), 'Service');
  assert.deepEqual(service.get('Restart'), ['always']);
  assert.deepEqual(service.get('RestartPreventExitStatus'), [String(EXIT_CONFIG)], 'the exit status main.ts uses for a bad BERTH_* setting');
  const exec = service.get('ExecStart')?.[0] ?? '';
  const entry = exec.split(' ').find((w) => w.endsWith('.ts'));
  assert.ok(entry && existsSync(join(root, entry)), `ExecStart runs a file of this repository: ${exec}`);
  assert.deepEqual(section(readFileSync(UNIT, 'utf8'), 'Unit').get('StartLimitIntervalSec'), ['0'], 'systemd never gives up restarting');
});

test('systemd-analyze finds nothing wrong with the unit', (t) => {
  if (spawnSync('systemd-analyze', ['--version']).status !== 0) {
    // Not a pass in disguise: the test above still checks the unit's settings.
    t.diagnostic('systemd-analyze is not installed here: syntax not verified');
    return;
  }
  const check = spawnSync('systemd-analyze', ['verify', '--man=no', UNIT], { encoding: 'utf8' });
  // verify exits 0 even for unknown keys and bad values; it reports them on stderr.
  assert.equal(check.status, 0);
  assert.equal(check.stderr.trim(), '', 'no warnings');
});
