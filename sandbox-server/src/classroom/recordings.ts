/**
 * The instructor's read side of recordings (GET only, so no CSRF token):
 *   GET /api/teach/recordings/<class>/<learner>           the learner's recorded lessons, with markers
 *   GET /api/teach/recordings/<class>/<learner>/<lesson>  one asciicast v2 file
 * Recordings are kept with the class: its instructor replays them while the learner
 * is a member, after the class ended too (mayReplay); nobody else gets anything.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Instructor } from './watch.ts';
import type { Recorder } from './recorder.ts';

export const RECORDINGS_PREFIX = '/api/teach/recordings/';

export interface RecordingsApiOptions {
  instructorOf: (req: IncomingMessage) => Instructor | undefined;
  /** The instructor owns the class and the learner is (still) a member of it. */
  mayReplay: (instructorId: string, classId: string, learner: string) => boolean;
  recorder: Recorder;
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

const PATH = /^\/api\/teach\/recordings\/([A-Za-z0-9][A-Za-z0-9_-]{0,80})\/([0-9a-f]{32})(?:\/([a-z0-9][a-z0-9-]{0,80}))?$/;

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
    const classId = match?.[1];
    const learner = match?.[2];
    // One answer for "no such learner" and "not yours": nothing to learn by probing.
    if (!classId || !learner || !opts.mayReplay(instructor.id, classId, learner)) return json(res, 404, { error: 'no such recording' });
    const dir = opts.recorder.learnerDir(classId, learner);
    const lesson = match[3];
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
