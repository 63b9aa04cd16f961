/**
 * Terminal scrollback on disk, one file per learner, so a restarted (or crashed)
 * server can replay what the learner saw. The server saves changed rings every few
 * seconds and on shutdown; files are written whole and renamed into place, so a
 * crash mid-write leaves the previous copy. Mode 0600: scrollback can hold secrets.
 */
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const HANDLE = /^[0-9a-f]{16,128}$/;

export class ScrollbackStore {
  private readonly dir: string;
  private readonly maxBytes: number;

  constructor(dir: string, maxBytes: number) {
    this.dir = dir;
    this.maxBytes = maxBytes;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  private path(handle: string): string {
    if (!HANDLE.test(handle)) throw new Error(`not a learner handle: ${handle.slice(0, 20)}`);
    return join(this.dir, `${handle}.bin`);
  }

  /** The saved scrollback (at most maxBytes, its newest part), or undefined. */
  load(handle: string): Buffer | undefined {
    try {
      const data = readFileSync(this.path(handle));
      return data.length > this.maxBytes ? data.subarray(data.length - this.maxBytes) : data;
    } catch {
      return undefined;
    }
  }

  /** Saves `data`; empty data removes the file. */
  save(handle: string, data: Buffer): void {
    const file = this.path(handle);
    if (data.length === 0) {
      rmSync(file, { force: true });
      return;
    }
    const tmp = `${file}.tmp`;
    writeFileSync(tmp, data, { mode: 0o600 });
    renameSync(tmp, file);
  }

  /** Removes the files of learners not in `keep` (their sandboxes are gone). */
  prune(keep: ReadonlySet<string>): number {
    let removed = 0;
    for (const name of readdirSync(this.dir)) {
      const handle = name.replace(/\.bin(\.tmp)?$/, '');
      if (keep.has(handle) && name.endsWith('.bin')) continue;
      rmSync(join(this.dir, name), { force: true });
      removed++;
    }
    return removed;
  }
}
