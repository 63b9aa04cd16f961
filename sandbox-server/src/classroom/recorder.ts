/**
 * Records class learners' terminals as asciicast v2, one file per learner and
 * lesson: `<dir>/<class>/<learner>/<lesson>.cast`, a JSON header line and then
 * `[seconds, "o", text]` output events, with `[seconds, "m", exercise]` markers
 * where an exercise passed, so a replay can jump to it, and `[seconds, "r", "COLSxROWS"]`
 * where the terminal changed size.
 *
 * Only output is recorded, never input: keystrokes include passwords typed at a
 * prompt that does not echo them. A file never grows past `maxBytes`: the event
 * that would pass it is dropped, a last marker says the limit was reached, and
 * that lesson's recording ends there (the learner's work goes on unrecorded).
 */
import { closeSync, createWriteStream, existsSync, mkdirSync, openSync, readdirSync, readSync, rmSync, statSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import type { Logger } from '../log.ts';
import { shortHandle } from '../log.ts';
import type { ProgressEvent } from './progress-bus.ts';

export interface RecorderOptions {
  dir: string;
  /** Largest file per learner per lesson, in bytes. */
  maxBytes: number;
  /** The class a learner's work on a lesson is recorded for, or undefined: not recorded. */
  shouldRecord: (learner: string, lesson: string) => string | undefined;
  log: Logger;
  /** A file not written for this long is closed (it is reopened, appending, on more output). */
  idleCloseMs?: number;
}

/** Room kept for the closing marker. */
const CLOSING_RESERVE = 128;
export const LIMIT_MARKER = 'recording limit reached';
/** Players shorten pauses longer than this (a learner away for a night replays without the night). */
const IDLE_TIME_LIMIT_S = 3;
/** How long a shouldRecord answer is reused: it is asked per output chunk. */
const MEMBERSHIP_TTL_MS = 5000;
/** A pass this recent when the bus reports it is the pass itself, not an old one repeated. */
const FRESH_PASS_MS = 10_000;
const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,80}$/;

interface Recording {
  path: string;
  stream: WriteStream;
  /** Epoch ms of the header's timestamp: event times count from it. */
  startedAt: number;
  bytes: number;
  full: boolean;
  decoder: StringDecoder;
  markers: Set<string>;
  lastWrite: number;
}

export class Recorder {
  private readonly opts: RecorderOptions;
  /** The lesson and size of each learner's latest page: output goes to that lesson's file. */
  private readonly current = new Map<string, { lesson: string; cols: number; rows: number }>();
  private readonly open = new Map<string, Recording>();
  /** shouldRecord's answers per learner (for their current lesson). */
  private readonly membership = new Map<string, { lesson: string; classId: string | undefined; at: number }>();
  private readonly sweep: NodeJS.Timeout;
  private failures = 0;

  constructor(opts: RecorderOptions) {
    this.opts = opts;
    this.sweep = setInterval(() => this.closeIdle(), Math.min(opts.idleCloseMs ?? 60_000, 60_000));
    this.sweep.unref();
  }

  /** A page of the learner said hello: their output now belongs to this lesson. */
  pageOpened(learner: string, lesson: string | undefined, cols: number, rows: number): void {
    if (lesson === undefined || !SAFE_NAME.test(lesson)) return;
    this.current.set(learner, { lesson, cols, rows });
  }

  output(learner: string, chunk: Buffer): void {
    this.safely(() => {
      const rec = this.recording(learner);
      if (!rec) return;
      const text = rec.decoder.write(chunk); // a character split over two chunks waits for its end
      if (text) this.event(rec, 'o', text);
    });
  }

  /** The learner's terminal changed size: an "r" event, so the replay reflows as the learner saw it. */
  resized(learner: string, cols: number, rows: number): void {
    const page = this.current.get(learner);
    if (!page) return;
    this.current.set(learner, { ...page, cols, rows });
    this.safely(() => {
      const rec = this.recording(learner);
      if (rec) this.event(rec, 'r', `${cols}x${rows}`);
    });
  }

  /**
   * A lesson's progress from the progress bus: a marker for each exercise (or quiz)
   * whose first pass is this event's news. The bus repeats the whole lesson's state,
   * so a pass from long ago is not marked again at a later time.
   */
  progress(e: ProgressEvent): void {
    for (const item of e.items) {
      if (item.status === 'passed' && item.passedAt !== null && e.at - item.passedAt <= FRESH_PASS_MS) this.passed(e.learner, e.lesson, item.id);
    }
  }

  /** An exercise passed: a marker in the recording of that lesson (once per exercise). */
  passed(learner: string, lesson: string, exercise: string): void {
    if (this.current.get(learner)?.lesson !== lesson) return;
    this.safely(() => {
      const rec = this.recording(learner);
      if (!rec || rec.markers.has(exercise)) return;
      rec.markers.add(exercise);
      this.event(rec, 'm', exercise);
    });
  }

  /** Called from the shell's output: a full disk or a bad directory loses the recording, never the terminal. */
  private safely(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      if (this.failures++ % 1000 === 0) this.opts.log.warn({ err: (err as Error).message }, 'a recording could not be written');
    }
  }

  /** "Forget me": every recording of the learner, in every class, is deleted. */
  forget(learner: string): void {
    this.current.delete(learner);
    this.membership.delete(learner);
    for (const [key, rec] of this.open) {
      if (!key.startsWith(`${learner}/`)) continue;
      rec.stream.destroy();
      this.open.delete(key);
    }
    if (!existsSync(this.opts.dir) || !SAFE_NAME.test(learner)) return;
    for (const classId of readdirSync(this.opts.dir)) rmSync(join(this.opts.dir, classId, learner), { recursive: true, force: true });
  }

  /** Where a learner's recordings for a class are (the replay routes read them). */
  learnerDir(classId: string, learner: string): string | undefined {
    return SAFE_NAME.test(classId) && SAFE_NAME.test(learner) ? join(this.opts.dir, classId, learner) : undefined;
  }

  /** Waits until everything written so far is on disk (tests, shutdown). */
  async flush(): Promise<void> {
    while ([...this.open.values()].some((rec) => rec.stream.writableLength > 0 || rec.stream.pending)) await new Promise((resolve) => setTimeout(resolve, 10));
  }

  close(): void {
    clearInterval(this.sweep);
    for (const rec of this.open.values()) rec.stream.end();
    this.open.clear();
  }

  private classOf(learner: string, lesson: string): string | undefined {
    const now = Date.now();
    const known = this.membership.get(learner);
    if (known && known.lesson === lesson && now - known.at < MEMBERSHIP_TTL_MS) return known.classId;
    const classId = this.opts.shouldRecord(learner, lesson);
    this.membership.set(learner, { lesson, classId, at: now });
    return classId;
  }

  private recording(learner: string): Recording | undefined {
    const page = this.current.get(learner);
    if (!page) return undefined;
    const classId = this.classOf(learner, page.lesson);
    const dir = classId === undefined ? undefined : this.learnerDir(classId, learner);
    if (!dir) return undefined;
    const key = `${learner}/${classId}/${page.lesson}`;
    const rec = this.open.get(key);
    if (rec) return rec.full ? undefined : rec;
    const made = this.openFile(join(dir, `${page.lesson}.cast`), page);
    this.open.set(key, made);
    return made.full ? undefined : made;
  }

  /** Opens a recording for appending, writing its header when it is new. */
  private openFile(path: string, page: { lesson: string; cols: number; rows: number }): Recording {
    mkdirSync(join(path, '..'), { recursive: true, mode: 0o700 });
    let startedAt = Date.now();
    let bytes = 0;
    let full = false;
    let header: string | undefined;
    if (existsSync(path)) {
      bytes = statSync(path).size;
      const old = readHeader(path);
      if (old) startedAt = old.timestamp * 1000;
      // A file that ended at the limit stays ended, whatever room the dropped event left.
      full = !old || bytes + CLOSING_RESERVE >= this.opts.maxBytes || endsAtLimit(path, bytes);
    } else {
      header = JSON.stringify({ version: 2, width: page.cols, height: page.rows, timestamp: Math.floor(startedAt / 1000), idle_time_limit: IDLE_TIME_LIMIT_S, title: page.lesson }) + '\n';
      startedAt = Math.floor(startedAt / 1000) * 1000;
    }
    const stream = createWriteStream(path, { flags: 'a', mode: 0o600 });
    stream.on('error', (err) => this.opts.log.warn({ err: err.message }, 'a recording could not be written'));
    if (header) {
      stream.write(header);
      bytes += Buffer.byteLength(header);
    }
    return { path, stream, startedAt, bytes, full, decoder: new StringDecoder('utf8'), markers: new Set(), lastWrite: Date.now() };
  }

  private event(rec: Recording, kind: 'o' | 'm' | 'r', data: string): void {
    const seconds = Math.max(0, Math.round(Date.now() - rec.startedAt) / 1000);
    const line = JSON.stringify([seconds, kind, data]) + '\n';
    const size = Buffer.byteLength(line);
    if (rec.bytes + size + CLOSING_RESERVE > this.opts.maxBytes) {
      const last = JSON.stringify([seconds, 'm', LIMIT_MARKER]) + '\n';
      rec.stream.write(last);
      rec.bytes += Buffer.byteLength(last);
      rec.full = true;
      this.opts.log.info({ path: rec.path.split('/').slice(-3).map((p, i) => (i === 1 ? shortHandle(p) : p)).join('/') }, 'a recording reached BERTH_RECORDING_MAX and ends here');
      return;
    }
    rec.stream.write(line);
    rec.bytes += size;
    rec.lastWrite = Date.now();
  }

  private closeIdle(): void {
    const cutoff = Date.now() - (this.opts.idleCloseMs ?? 60_000);
    for (const [key, rec] of this.open) {
      if (rec.lastWrite > cutoff) continue;
      rec.stream.end();
      this.open.delete(key);
    }
  }
}

function endsAtLimit(path: string, size: number): boolean {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(Math.min(size, 256));
    readSync(fd, buf, 0, buf.length, size - buf.length);
    return buf.toString('utf8').includes(`"m","${LIMIT_MARKER}"]`);
  } finally {
    closeSync(fd);
  }
}

/** The header of an existing recording (only its first few KiB are read). */
function readHeader(path: string): { timestamp: number } | undefined {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(4096);
    const n = readSync(fd, buf, 0, buf.length, 0);
    const line = buf.subarray(0, n).toString('utf8').split('\n')[0]!;
    const header = JSON.parse(line) as { version?: unknown; timestamp?: unknown };
    return header.version === 2 && typeof header.timestamp === 'number' ? { timestamp: header.timestamp } : undefined;
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}
