/**
 * Runs a lesson's runnable code blocks (```sh run) in a fresh sandbox, in order,
 * typed into a real interactive shell as a learner pressing each Run button would,
 * and reports each block's exit status. Blocks marked `expect-fail` must fail;
 * blocks marked `interactive` open a program that reads the terminal (e.g.
 * `docker exec -it web sh`): the runner types `exit` into it after a moment.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { waitForEngine } from '../../sandbox-server/src/runtime/ready.ts';
import { startToolRuntime } from './tool-runtime.ts';
import { PROMPT_MARKER } from '../../sandbox-server/src/terminal.ts';
import type { Shell } from '../../sandbox-server/src/runtime/types.ts';

export interface Block {
  code: string;
  expectFail: boolean;
  interactive: boolean;
  line: number;
}

export interface BlockResult extends Block {
  exitCode: number | null;
  ok: boolean;
  output: string;
}

/** Fenced blocks whose info string has `run`, in order. */
export function runnableBlocks(mdx: string): Block[] {
  const out: Block[] = [];
  const re = /^```(\w+)?([^\n]*)\n([\s\S]*?)^```\s*$/gm;
  for (const m of mdx.matchAll(re)) {
    const flags = new Set((m[2] ?? '').trim().split(/\s+/));
    if (!flags.has('run')) continue;
    out.push({
      code: m[3]!.replace(/\n$/, ''),
      expectFail: flags.has('expect-fail'),
      interactive: flags.has('interactive'),
      line: mdx.slice(0, m.index).split('\n').length,
    });
  }
  return out;
}

const BLOCK_TIMEOUT_MS = 180_000;

class ShellDriver {
  private output = '';
  private readonly shell: Shell;
  constructor(shell: Shell) {
    this.shell = shell;
    shell.stream.on('data', (d: Buffer) => (this.output += d.toString('utf8')));
  }
  type(text: string): void {
    this.shell.stream.write(text);
  }
  mark(): number {
    return this.output.length;
  }
  async waitFor(re: RegExp, from: number, timeoutMs: number): Promise<RegExpExecArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = re.exec(this.output.slice(from));
      if (m) return m;
      if (Date.now() > deadline) throw new Error(`timed out; output: ${this.output.slice(-600)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  since(from: number): string {
    return this.output.slice(from);
  }
}

/** Runs every runnable block of one MDX file in one fresh sandbox. */
export async function runLessonBlocks(mdxPath: string, image: string): Promise<BlockResult[]> {
  const blocks = runnableBlocks(readFileSync(mdxPath, 'utf8'));
  const { runtime, close } = await startToolRuntime('blocks', image);
  const learner = randomBytes(16).toString('hex');
  const results: BlockResult[] = [];
  try {
    const info = await runtime.create(learner);
    await runtime.start(info.id);
    await waitForEngine(runtime, info.id, learner, 90_000);
    const driver = new ShellDriver(await runtime.openShell(info.id, 160, 50));
    for (const [i, block] of blocks.entries()) {
      const nonce = `${randomBytes(4).toString('hex')}_${i}`;
      const from = driver.mark();
      for (const line of block.code.split('\n')) driver.type(`${line}\r`);
      if (block.interactive) {
        await new Promise((r) => setTimeout(r, 2500));
        const beforeExit = driver.mark();
        driver.type('exit\r');
        // Back in the sandbox's own bash once it prints its prompt marker again;
        // typed earlier, the marker below would be swallowed by the program.
        await driver.waitFor(new RegExp(PROMPT_MARKER.toString().replace(/[\\^$.*+?()[\]{}|]/g, '\\$&')), beforeExit, 30_000).catch(() => {});
      }
      driver.type(`echo "__block_${nonce}""_$?__"\r`);
      let exitCode: number | null = null;
      try {
        const m = await driver.waitFor(new RegExp(`__block_${nonce}_(\\d+)__`), from, BLOCK_TIMEOUT_MS);
        exitCode = Number(m[1]);
      } catch {
        driver.type('\x03'); // a hung block: interrupt it so the next one can run
      }
      const ok = exitCode !== null && (block.expectFail ? exitCode !== 0 : exitCode === 0);
      results.push({ ...block, exitCode, ok, output: driver.since(from).slice(-1500) });
    }
  } finally {
    await runtime.destroy(learner).catch(() => {});
    await close();
  }
  return results;
}
