/**
 * Shared tools for the adversarial suite: find a learner's sandbox, read its cgroup
 * files on the host (cgroup v1, cgroupfs driver: /sys/fs/cgroup/<controller>/docker/<id>/),
 * time keystroke echo for a bystander learner, and time what the host itself can do.
 * Everything here only READS the host; attacks happen through real terminals.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { handleOf } from '../../sandbox-server/src/identity.ts';
import { BerthPort, measureEcho, startCat } from '../../scripts/lib/bench-echo.ts';
import { percentile } from '../../scripts/lib/bench-stats.ts';
import type { TestBerth } from '../helpers/berth.ts';
import type { TestTerminal } from '../helpers/terminal-client.ts';

const run = promisify(execFile);
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `ok` every 50 ms; resolves with the ms it took, or fails naming `what`. */
export async function waitFor(ok: () => boolean, timeoutMs: number, what: string): Promise<number> {
  const t0 = performance.now();
  while (!ok()) {
    if (performance.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
  return performance.now() - t0;
}

/** Terminal output without colours, titles and the prompt marker, so it reads like a screen. */
export function plain(text: string): string {
  return text.replace(/\x1b\][^\x07\x1b]*(\x07|\x1b\\)|\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[()][A-Z0-9]|\r/g, '');
}

/** Types a command into the terminal and returns its plain output once a marker after it comes back. */
export async function sh(term: TestTerminal, command: string, timeoutMs = 60_000): Promise<string> {
  return plain(await term.run(command, timeoutMs));
}

/** The running sandbox container of the learner holding `cookie` ("name=value"). */
export async function sandboxOf(berth: TestBerth, cookie: string): Promise<string> {
  const info = await berth.runtime.find(handleOf(cookie.slice(cookie.indexOf('=') + 1)));
  if (!info?.running) throw new Error('the learner has no running sandbox');
  return info.id;
}

/** A sandbox container's cgroup v1 files on the host, read-only. */
export class SandboxCgroup {
  readonly id: string;

  constructor(id: string) {
    this.id = id;
  }

  path(controller: string, file: string): string {
    return `/sys/fs/cgroup/${controller}/docker/${this.id}/${file}`;
  }

  text(controller: string, file: string): string {
    return readFileSync(this.path(controller, file), 'utf8').trim();
  }

  number(controller: string, file: string): number {
    const raw = this.text(controller, file);
    const n = raw === 'max' ? Number.POSITIVE_INFINITY : Number(raw);
    if (Number.isNaN(n)) throw new Error(`${this.path(controller, file)}: not a number: ${raw}`);
    return n;
  }

  /** A "key value" line of a flat-keyed file (pids.events, memory.oom_control, cpu.stat). */
  field(controller: string, file: string, key: string): number {
    const line = this.text(controller, file).split('\n').find((l) => l.startsWith(`${key} `));
    if (!line) throw new Error(`${this.path(controller, file)} has no "${key}"`);
    return Number(line.slice(key.length + 1));
  }

  /** Every process in the sandbox's pids cgroup: host pid, host uid (nested containers' root is 100000+), command line. */
  processes(): { pid: number; uid: number; cmdline: string }[] {
    return this.text('pids', 'cgroup.procs')
      .split('\n')
      .filter(Boolean)
      .flatMap((pid) => {
        try {
          const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
          const uid = Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
          return [{ pid: Number(pid), uid, cmdline }];
        } catch {
          return []; // exited between the two reads
        }
      });
  }

  /** Open file descriptors of all the sandbox's processes together, as the host kernel counts them. */
  openFiles(): number {
    return this.processes().reduce((n, p) => {
      try {
        return n + readdirSync(`/proc/${p.pid}/fd`).length;
      } catch {
        return n; // exited meanwhile
      }
    }, 0);
  }

  /** CPU cores used on average over `ms` (cpuacct.usage delta / wall time). */
  async coresUsed(ms: number): Promise<number> {
    const u0 = this.number('cpuacct', 'cpuacct.usage');
    const t0 = performance.now();
    await sleep(ms);
    const u1 = this.number('cpuacct', 'cpuacct.usage');
    return (u1 - u0) / 1e6 / (performance.now() - t0);
  }
}

export interface Latency {
  n: number;
  p50: number;
  p95: number;
  max: number;
}

export function latency(samples: number[]): Latency {
  const s = [...samples].sort((a, b) => a - b);
  return { n: s.length, p50: percentile(s, 0.5), p95: percentile(s, 0.95), max: s.at(-1) ?? Number.NaN };
}

export const fmtLatency = (l: Latency) => `p50 ${l.p50.toFixed(2)} ms, p95 ${l.p95.toFixed(2)} ms, max ${l.max.toFixed(2)} ms (n=${l.n})`;

/**
 * A bystander learner's terminal with `cat > /dev/null` in the foreground, so every
 * key typed comes straight back as the TTY's echo (the same method as `npm run bench`).
 */
export class EchoProbe {
  private readonly port: BerthPort;

  private constructor(port: BerthPort) {
    this.port = port;
  }

  static async open(origin: string, cookie: string): Promise<EchoProbe> {
    const port = await BerthPort.open(origin, cookie, 120_000);
    await startCat(port);
    return new EchoProbe(port);
  }

  /** Echo round trips of `samples` keys, `gapMs` apart. */
  async measure(samples = 100, gapMs = 20): Promise<Latency> {
    const res = await measureEcho([this.port], { warmup: 5, samples, gapMs, keyTimeoutMs: 10_000, aborted: () => false });
    return latency(res[this.port.name]!);
  }

  close(): void {
    this.port.close();
  }
}

export interface HostTimes {
  /** Spawning /bin/true on the host, slowest of 5, ms. */
  spawnMs: number;
  /** A ping to the host's Docker engine, ms. */
  engineMs: number;
  /** A `docker exec true` into another learner's sandbox, ms. */
  execMs: number;
  /** The host's 1-minute load average. */
  load1: number;
}

/** How quickly the host spawns a process, its engine answers and another sandbox runs an exec. */
export async function hostTimes(berth: TestBerth, otherSandbox: string): Promise<HostTimes> {
  let spawnMs = 0;
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    await run('/bin/true');
    spawnMs = Math.max(spawnMs, performance.now() - t0);
  }
  let t0 = performance.now();
  await berth.runtime.docker.ping();
  const engineMs = performance.now() - t0;
  t0 = performance.now();
  const res = await berth.runtime.exec(otherSandbox, ['true'], 30_000);
  const execMs = performance.now() - t0;
  if (res.exitCode !== 0) throw new Error(`docker exec true in the other sandbox failed: ${JSON.stringify(res)}`);
  return { spawnMs, engineMs, execMs, load1: hostLoad() };
}

export const fmtHost = (h: HostTimes) =>
  `spawn ${h.spawnMs.toFixed(1)} ms, engine ping ${h.engineMs.toFixed(1)} ms, exec in another sandbox ${h.execMs.toFixed(0)} ms, load1 ${h.load1.toFixed(2)}`;

/** The host's 1-minute load average (/proc/loadavg). */
export function hostLoad(): number {
  return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
}

/** Open files on the whole host, the first field of /proc/sys/fs/file-nr. */
export function hostOpenFiles(): number {
  return Number(readFileSync('/proc/sys/fs/file-nr', 'utf8').split(/\s+/)[0]);
}

/** MemAvailable of the host, bytes (/proc/meminfo). */
export function hostMemAvailable(): number {
  const m = /^MemAvailable:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'));
  if (!m) throw new Error('no MemAvailable in /proc/meminfo');
  return Number(m[1]) * 1024;
}

/** Resets the learner's sandbox through the terminal (as the page's Reset button does); resolves when the new one is ready. */
export async function resetSandbox(term: TestTerminal, timeoutMs = 90_000): Promise<number> {
  const t0 = performance.now();
  term.control({ t: 'reset' });
  await term.until(() => term.states.lastIndexOf('creating') > term.states.lastIndexOf('ready'), 30_000, 'reset to begin');
  await term.waitForState('ready', timeoutMs);
  return performance.now() - t0;
}
