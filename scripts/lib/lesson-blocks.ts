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
import { ShellDriver } from './shell-driver.ts';

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
    for (const block of blocks) {
      let exitCode: number | null = null;
      let output: string;
      try {
        ({ exitCode, output } = await driver.run(block.code, { timeoutMs: BLOCK_TIMEOUT_MS, interactive: block.interactive }));
      } catch {
        output = driver.tail(1500); // a hung block, interrupted so the next one can run
      }
      const ok = exitCode !== null && (block.expectFail ? exitCode !== 0 : exitCode === 0);
      results.push({ ...block, exitCode, ok, output: output.slice(-1500) });
    }
  } finally {
    await runtime.destroy(learner).catch(() => {});
    await close();
  }
  return results;
}
