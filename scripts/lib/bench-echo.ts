/**
 * Keystroke echo round trips: one printable byte in, the same byte back from the
 * sandbox's TTY line discipline (a foreground `cat > /dev/null` reads the lines,
 * so the echo is the only output). Two ports to the same sandbox:
 *   - BerthPort: the page's path, a WebSocket to Berth's /ws/terminal;
 *   - RawPort: the baseline, a plain `bash -l` exec with Tty+hijack straight from
 *     this process (rawExecShell: the engine's own path, without Berth's server or
 *     the dtach session Berth's shell runs in).
 * Both timestamps are taken in this process with performance.now().
 */
import { performance } from 'node:perf_hooks';
import { WebSocket } from 'ws';
import { TERMINAL_PATH, parseServerMessage } from '../../sandbox-server/src/protocol.ts';
import type Docker from 'dockerode';
import type { Shell } from '../../sandbox-server/src/runtime/types.ts';
import { SANDBOX_HOME, SANDBOX_USER } from '../../sandbox-server/src/runtime/docker.ts';

/** A login shell in a TTY exec as the learner: `docker exec -it -u learner <id> bash -l`. */
export async function rawExecShell(docker: Docker, id: string, cols: number, rows: number): Promise<Shell> {
  const exec = await docker.getContainer(id).exec({
    Cmd: ['bash', '-l'],
    User: SANDBOX_USER,
    WorkingDir: SANDBOX_HOME,
    AttachStdin: true,
    AttachStdout: true,
    AttachStderr: true,
    Tty: true,
  });
  const stream = await exec.start({ hijack: true, stdin: true, Tty: true });
  const resize = (c: number, r: number) => exec.resize({ w: c, h: r }).then(() => {}, () => {});
  await resize(cols, rows);
  return { stream, resize };
}

export interface EchoPort {
  readonly name: string;
  send(bytes: Buffer): void;
  /** Every output chunk, with the time it was handed to us. */
  onOutput: ((chunk: Buffer, at: number) => void) | undefined;
  /** All output so far (for setup: prompts, command echo). */
  readonly text: string;
  close(): void;
}

export const PROMPT = /learner@berth[^$\n]*\$ /;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

abstract class BasePort implements EchoPort {
  abstract readonly name: string;
  onOutput: ((chunk: Buffer, at: number) => void) | undefined;
  private chunks: Buffer[] = [];
  private size = 0;
  abstract send(bytes: Buffer): void;
  abstract close(): void;

  protected received(chunk: Buffer): void {
    const at = performance.now();
    if (this.size < 1024 * 1024) {
      this.chunks.push(chunk);
      this.size += chunk.length;
    }
    this.onOutput?.(chunk, at);
  }

  get text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

export class BerthPort extends BasePort {
  readonly name = 'berth';
  readonly ws: WebSocket;
  states: string[] = [];

  private constructor(ws: WebSocket) {
    super();
    this.ws = ws;
    ws.on('message', (data: Buffer, isBinary) => {
      if (isBinary) return this.received(data);
      const msg = parseServerMessage(data.toString());
      if (msg.ok && msg.value.t === 'status') this.states.push(msg.value.state);
    });
  }

  /** Opens the terminal socket as a page would (cookie + Origin), says hello and waits for `ready`. */
  static async open(origin: string, cookie: string, timeoutMs: number): Promise<BerthPort> {
    const ws = new WebSocket(origin.replace(/^http/, 'ws') + TERMINAL_PATH, { headers: { Cookie: cookie }, origin, perMessageDeflate: false });
    const port = new BerthPort(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`terminal upgrade refused: ${res.statusCode}`)));
    });
    ws.on('error', () => {});
    ws.send(JSON.stringify({ t: 'hello', cols: 120, rows: 40 }));
    await until(() => port.states.at(-1) === 'ready' || port.states.at(-1) === 'failed', timeoutMs, () => `berth state ready (states: ${port.states.join(',')})`);
    if (port.states.at(-1) !== 'ready') throw new Error(`sandbox failed to start: ${port.states.join(',')}`);
    return port;
  }

  send(bytes: Buffer): void {
    this.ws.send(bytes, { binary: true });
  }

  close(): void {
    this.ws.close();
  }
}

export class RawPort extends BasePort {
  readonly name = 'raw docker exec';
  private readonly shell: Shell;

  constructor(shell: Shell) {
    super();
    this.shell = shell;
    shell.stream.on('data', (d: Buffer) => this.received(d));
    shell.stream.on('error', () => {});
  }

  send(bytes: Buffer): void {
    this.shell.stream.write(bytes);
  }

  close(): void {
    this.shell.stream.destroy();
  }
}

/** Re-checks `ok` every few ms until it holds or the time is up. */
export async function until(ok: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!ok()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what()}`);
    await sleep(5);
  }
}

/** Waits until no output arrived for `quietMs` (bounded by `timeoutMs`). */
async function quiet(port: EchoPort, quietMs: number, timeoutMs: number): Promise<void> {
  let last = performance.now();
  const prev = port.onOutput;
  port.onOutput = (c, at) => {
    last = at;
    prev?.(c, at);
  };
  try {
    await until(() => performance.now() - last >= quietMs, timeoutMs, () => `${port.name} to fall quiet`);
  } finally {
    port.onOutput = prev;
  }
}

/** Waits for the shell prompt, then leaves `cat > /dev/null` in the foreground. */
export async function startCat(port: EchoPort, timeoutMs = 30_000): Promise<void> {
  await until(() => PROMPT.test(port.text), timeoutMs, () => `${port.name} prompt; got ${JSON.stringify(port.text.slice(-200))}`);
  await quiet(port, 200, timeoutMs);
  const before = port.text.length;
  port.send(Buffer.from('cat > /dev/null\r'));
  await until(() => port.text.slice(before).includes('cat > /dev/null\r\n'), timeoutMs, () => `${port.name} to echo the cat command`);
  await quiet(port, 300, timeoutMs);
}

/** One key: send it and resolve with the ms until the same byte comes back. */
export function echoOnce(port: EchoPort, byte: number, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      port.onOutput = undefined;
      reject(new Error(`${port.name}: no echo of ${JSON.stringify(String.fromCharCode(byte))} within ${timeoutMs} ms`));
    }, timeoutMs);
    let t0 = 0;
    port.onOutput = (chunk, at) => {
      if (!chunk.includes(byte)) return;
      clearTimeout(timer);
      port.onOutput = undefined;
      resolve(at - t0);
    };
    t0 = performance.now();
    port.send(Buffer.of(byte));
  });
}

/** Ends the current input line so cat consumes it (the tty's line buffer holds 4095 bytes). */
async function newline(port: EchoPort, timeoutMs: number): Promise<void> {
  const before = port.text.length;
  port.send(Buffer.from('\r'));
  await until(() => port.text.slice(before).includes('\n'), timeoutMs, () => `${port.name} newline echo`);
}

export interface EchoOptions {
  warmup: number;
  samples: number;
  /** Pause between keys, ms. */
  gapMs: number;
  /** Per-key timeout, ms. */
  keyTimeoutMs: number;
  /** Called when the caller should stop (deadline, Ctrl+C). */
  aborted: () => boolean;
}

/**
 * Measures all ports in turn, alternating their order every round (A B, B A, ...)
 * so drift in the sandbox's load falls on both alike. Returns samples per port name.
 */
export async function measureEcho(ports: EchoPort[], opts: EchoOptions): Promise<Record<string, number[]>> {
  const out: Record<string, number[]> = Object.fromEntries(ports.map((p) => [p.name, []]));
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  const rounds = opts.warmup + opts.samples;
  for (let i = 0; i < rounds; i++) {
    if (opts.aborted()) throw new Error('aborted');
    if (i > 0 && i % 64 === 0) for (const p of ports) await newline(p, opts.keyTimeoutMs);
    const order = i % 2 === 0 ? ports : [...ports].reverse();
    for (const p of order) {
      const ms = await echoOnce(p, letters.charCodeAt(i % letters.length), opts.keyTimeoutMs);
      if (i >= opts.warmup) out[p.name]!.push(ms);
      await sleep(opts.gapMs);
    }
  }
  return out;
}
