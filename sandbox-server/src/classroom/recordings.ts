/**
 * The instructor's read side of recordings, declared as routes/routes-dispatch.ts
 * routes (GET only, so no CSRF token):
 *   GET /api/teach/classes/<class>/recordings/<learner>           the learner's recorded lessons, with markers
 *   GET /api/teach/classes/<class>/recordings/<learner>/<lesson>  one asciicast v2 file
 * Recordings are kept with the class: its instructor replays them while the learner
 * is a member, after the class ended too; nobody else gets anything.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Classes } from './classes.ts';
import type { Recorder } from './recorder.ts';
import { type Route, route } from './routes-dispatch.ts';

export interface Marker {
  time: number;
  label: string;
}

/** The markers and length of an asciicast v2 text (lines that are not events are skipped). */
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

const LEARNER = /^[0-9a-f]{32}$/;
const LESSON = /^[a-z0-9][a-z0-9-]{0,80}$/;

export function recordingRoutes(deps: { classes: Classes; recorder: Recorder }): Route[] {
  const { classes, recorder } = deps;
  const notFound = { status: 404, body: { error: 'no such recording' } };
  /** One answer for "no such learner", "not a member" and "not your class": nothing to learn by probing. */
  const dirOf = (instructor: string, classId: string, learner: string): string | undefined =>
    LEARNER.test(learner) && classes.owned(instructor, classId) && classes.isMember(classId, learner) ? recorder.learnerDir(classId, learner) : undefined;
  return [
    route({
      method: 'GET',
      path: '/api/teach/classes/:id/recordings/:learner',
      auth: 'instructor',
      async handle({ instructor, params }) {
        const dir = dirOf(instructor.id, params.id!, params.learner!);
        if (!dir) return notFound;
        await recorder.flush();
        const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.cast')).sort() : [];
        const recordings = files.map((f) => {
          const text = readFileSync(join(dir, f), 'utf8');
          return { lesson: f.slice(0, -'.cast'.length), bytes: Buffer.byteLength(text), ...castSummary(text) };
        });
        return { status: 200, body: { recordings } };
      },
    }),
    route({
      method: 'GET',
      path: '/api/teach/classes/:id/recordings/:learner/:lesson',
      auth: 'instructor',
      async handle({ instructor, params, res }) {
        const dir = dirOf(instructor.id, params.id!, params.learner!);
        const file = dir && LESSON.test(params.lesson!) ? join(dir, `${params.lesson}.cast`) : undefined;
        if (!file) return notFound;
        await recorder.flush();
        if (!existsSync(file)) return notFound;
        res.writeHead(200, { 'Content-Type': 'application/x-asciicast; charset=utf-8', 'Cache-Control': 'no-store' });
        res.end(readFileSync(file));
        return 'sent';
      },
    }),
  ];
}
