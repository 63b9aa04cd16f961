/** Small helpers for the project's scripts: run a command, inheriting the terminal. */
import { spawn, type SpawnOptions } from 'node:child_process';

export function run(cmd: string, args: string[], opts: SpawnOptions = {}): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: 'inherit', ...opts });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`${cmd} ${args.join(' ')} failed (${signal ?? `exit ${code}`})`));
    });
  });
}

/** Runs a Node script with the same Node that runs us. */
export const runNode = (args: string[], opts: SpawnOptions = {}) => run(process.execPath, args, opts);

export function log(scope: string, message: string): void {
  process.stderr.write(`\x1b[1m[${scope}]\x1b[0m ${message}\n`);
}
