/**
 * DNS must not leave the host when sandboxes may not reach the outside. When the
 * host's resolver is on loopback (dnsmasq, unbound, systemd-resolved), Docker's
 * embedded DNS forwards a container's queries from the host's own namespace
 * (libnetwork#1595), past the firewall's redirect: every name a learner looks up
 * would reach the host's resolver, and through it the internet. A stand-in resolver
 * on 127.0.0.1:53 (and the host's resolv.conf pointing at it, restored afterwards)
 * shows whether a sandbox's lookup leaks, with egress `registry` and `off`.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createSocket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { newLearner, startTestBerth, testConfig, type TestBerth } from '../helpers/berth.ts';
import { TestTerminal } from '../helpers/terminal-client.ts';

const RESOLV = '/etc/resolv.conf';

describe('adversarial: DNS with a loopback resolver on the host', () => {
  const seen: string[] = [];
  const resolver = createSocket('udp4');
  let original: string | undefined;
  const restore = () => {
    if (original !== undefined) writeFileSync(RESOLV, original);
    original = undefined;
  };
  after(() => {
    restore();
    resolver.close();
  });

  for (const egress of ['registry', 'off'] as const) {
    test(`egress ${egress}: a sandbox's lookups never reach the host's resolver`, async (t) => {
      if (original === undefined) {
        await new Promise<void>((resolve, reject) => {
          resolver.once('error', reject);
          resolver.bind(53, '127.0.0.1', () => resolve());
        });
        resolver.on('message', (m) => seen.push(m.toString('latin1').replace(/[^a-z0-9-]+/gi, '.')));
        original = readFileSync(RESOLV, 'utf8');
        writeFileSync(RESOLV, 'nameserver 127.0.0.1\n'); // the engine reads it when it creates a container
      }
      const tag = randomBytes(4).toString('hex');
      // Control: the stand-in does get the host's own lookups.
      // (Asynchronously: this process answers nothing, but it must be free to read the query.)
      await promisify(execFile)('getent', ['hosts', `control-${tag}.example`], { timeout: 3000 }).catch(() => {});
      assert.ok(seen.some((q) => q.includes(`control-${tag}`)), 'the stand-in resolver sees the host\'s lookups');

      let berth: TestBerth | undefined;
      try {
        berth = await startTestBerth(testConfig({ BERTH_SANDBOX_EGRESS: egress }));
        const term = new TestTerminal(berth.origin, { cookie: await newLearner(berth) });
        await term.waitForState('ready', 90_000);
        const began = Date.now();
        const out = await term.run(`getent hosts leak-${tag}.example; echo "status=$?"; docker run --rm busybox nslookup leak2-${tag}.example 2>&1 | tail -1`, 60_000);
        const ms = Date.now() - began;
        term.close();
        await new Promise((r) => setTimeout(r, 500));
        t.diagnostic(`egress ${egress}: lookups in the sandbox and a nested container took ${ms} ms; output: ${out.replace(/\s+/g, ' ').slice(-160)}`);
        assert.match(out, /status=2/, 'the name does not resolve');
        assert.deepEqual(seen.filter((q) => q.includes(tag) && !q.includes(`control-${tag}`)), [], 'no query reached the host\'s resolver');
      } finally {
        await berth?.destroy();
      }
    });
  }
});
