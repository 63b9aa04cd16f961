/**
 * The instructor's read side of recordings (GET only, so no CSRF token):
 *   GET /api/teach/recordings/<learner>           the learner's lessons recorded in their class, with markers
 *   GET /api/teach/recordings/<learner>/<lesson>  one asciicast v2 file
 * Only an instructor who may watch the learner (canWatch) gets anything, and only
 * the recordings of the learner's current class.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { WatchAccess } from './watch.ts';
import type { Recorder } from './recorder.ts';

export const RECORDINGS_PREFIX = '/api/teach/recordings/';

export interface RecordingsApiOptions extends WatchAccess {
  recorder: Recorder;
  /** The class whose recordings of a learner are shown (the one being recorded for). */
  classOf: (learner: string) => string | undefined;
}

export interface Marker {
  time: number;
  label: string;
}

/** The markers and size of an asciicast v2 text (lines that are not events are skipped). */
export function castSummary(text: string): { markers: Marker[]; duration: number } {
  const markers: Marker[] = [];
  let duration = 0;
  for (const line of text.split('\n').slice(1)) {
    if (!line) continue;
    try {
      const ev = JSON.parse(line) as unknown;
      if (!Array.isArray(ev) || typeof ev[0] !== 'number') continue;
      duration = Math.max(duration, ev[0]);
      if (ev[1] === 'm' && typeof ev[2] === 'string') markers.push({ time: ev[0], label: ev[2] });
    } catch {
      // a line cut by a crash mid-write: the rest still plays
    }
  }
  return { markers, duration };
}

const PATH = /^\/api\/teach\/recordings\/([0-9a-f]{32})(?:\/([a-z0-9][a-z0-9-]{0,80}))?$/;

/** Answers a request under RECORDINGS_PREFIX. */
export function recordingsApi(opts: RecordingsApiOptions): (req: IncomingMessage, res: ServerResponse, path: string) => void {
  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' });
    res.end(JSON.stringify(body));
  };
  return (req, res, path) => {
    if (req.method !== 'GET') return json(res, 405, { error: 'use GET' });
    const instructor = opts.instructorOf(req);
    if (!instructor) return json(res, 401, { error: 'log in as an instructor' });
    const match = PATH.exec(path);
    const learner = match?.[1];
    // One answer for "no such learner" and "not yours": nothing to learn by probing.
    if (!learner || !opts.canWatch(instructor.id, learner)) return json(res, 404, { error: 'no such recording' });
    const classId = opts.classOf(learner);
    const dir = classId === undefined ? undefined : opts.recorder.learnerDir(classId, learner);
    const lesson = match[2];
    void opts.recorder.flush().then(() => {
      if (lesson === undefined) {
        const files = dir && existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.cast')).sort() : [];
        const recordings = files.map((f) => {
          const text = readFileSync(join(dir!, f), 'utf8');
          return { lesson: f.slice(0, -'.cast'.length), bytes: Buffer.byteLength(text), ...castSummary(text) };
        });
        return json(res, 200, { recordings });
      }
      const file = dir && join(dir, `${lesson}.cast`);
      if (!file || !existsSync(file)) return json(res, 404, { error: 'no such recording' });
      res.writeHead(200, { 'Content-Type': 'application/x-asciicast; charset=utf-8', 'Cache-Control': 'no-store' });
      res.end(readFileSync(file));
    }).catch(() => json(res, 500, { error: 'the recording could not be read' }));
  };
}
