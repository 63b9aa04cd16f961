/**
 * The class grid: learners x the exercises (and quizzes) of the class's lessons.
 * It derives nothing about exercises itself: cells are the checker's progress
 * items (ExerciseChecker.progressOf on connect, then the progress bus), laid out
 * in the class's lesson order. Streamed as Server-Sent Events: the page only
 * listens, EventSource reconnects by itself, and the stream is a plain GET that
 * carries the instructor cookie (the terminal socket's protocol stays the learner's).
 */
import type { ServerResponse } from 'node:http';
import type { ExerciseFile } from '../exercises/schema.ts';
import { quizKey } from '../exercises/live.ts';
import type { GridCell, GridColumn, GridMessage, GridRow } from '../protocol.ts';
import type { ClassRow, Classes, Member } from './classes.ts';
import type { BusEvent, ProgressBus, ProgressEvent, ProgressItem } from './progress-bus.ts';

const HEARTBEAT_MS = 20_000;

export interface GridDeps {
  classes: Classes;
  bus: ProgressBus;
  lessons: ReadonlyMap<string, ExerciseFile>;
  progressOf: (learner: string, lesson: string) => ProgressEvent;
}

export function gridColumns(cls: ClassRow, lessons: ReadonlyMap<string, ExerciseFile>): GridColumn[] {
  return cls.lessons.flatMap((lesson) => {
    const file = lessons.get(lesson);
    if (!file) return [];
    return [
      ...file.exercises.map((e) => ({ lesson, id: e.id, title: { ko: e.title.ko, en: e.title.en } })),
      ...file.quizzes.map((q) => ({ lesson, id: quizKey(q.id), title: { ko: q.title.ko, en: q.title.en } })),
    ];
  });
}

const cellOf = (item: ProgressItem | undefined): GridCell => {
  if (!item) return { s: 'pending', h: 0, a: 0, r: false, p: null };
  const cell: GridCell = { s: item.status, h: item.hintsUsed, a: item.attempts, r: item.solutionRevealed, p: item.passedAt };
  if (item.feedback) cell.f = item.feedback;
  return cell;
};

/** One learner's row from their per-lesson progress. */
export function gridRow(columns: GridColumn[], member: Member, byLesson: ReadonlyMap<string, ProgressEvent>): GridRow {
  const cells = columns.map((c) => cellOf(byLesson.get(c.lesson)?.items.find((i) => i.id === c.id)));
  const current = cells.findIndex((c) => c.s !== 'passed');
  // On the current one since the one before it passed (or since joining).
  const before = cells.slice(0, current < 0 ? 0 : current).map((c) => c.p ?? 0);
  const since = current < 0 ? null : Math.max(member.joinedAt, ...before);
  return {
    learner: member.learner,
    name: member.displayName,
    joinedAt: member.joinedAt,
    checking: [...byLesson.values()].some((e) => e.checking),
    cells,
    passed: cells.filter((c) => c.s === 'passed').length,
    current,
    since,
  };
}

/** The whole grid now, for the page and the exports. */
export function gridSnapshot(deps: GridDeps, cls: ClassRow): { columns: GridColumn[]; rows: GridRow[]; progress: Map<string, Map<string, ProgressEvent>> } {
  const columns = gridColumns(cls, deps.lessons);
  const progress = new Map<string, Map<string, ProgressEvent>>();
  const rows = deps.classes.members(cls.id).map((m) => {
    const byLesson = new Map(cls.lessons.filter((l) => deps.lessons.has(l)).map((l) => [l, deps.progressOf(m.learner, l)]));
    progress.set(m.learner, byLesson);
    return gridRow(columns, m, byLesson);
  });
  return { columns, rows, progress };
}

/** Streams the class's grid to `res` until the client goes or `stillAllowed` says no. */
export function streamGrid(deps: GridDeps, cls: ClassRow, res: ServerResponse, stillAllowed: () => boolean): void {
  res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', 'X-Accel-Buffering': 'no' });
  const send = (msg: GridMessage) => res.write(`data: ${JSON.stringify(msg)}\n\n`);
  res.write('retry: 2000\n\n');
  const lessons = new Set(cls.lessons);
  let { columns, progress } = { columns: [] as GridColumn[], progress: new Map<string, Map<string, ProgressEvent>>() };
  let members = new Map<string, Member>();
  const resync = () => {
    const snap = gridSnapshot(deps, cls);
    columns = snap.columns;
    progress = snap.progress;
    members = new Map(deps.classes.members(cls.id).map((m) => [m.learner, m]));
    const current = deps.classes.byId(cls.id);
    send({ t: 'snapshot', now: Date.now(), class: { id: cls.id, name: cls.name, code: cls.code, endedAt: current?.endedAt ?? null }, columns, rows: snap.rows });
  };
  resync();
  const onEvent = (e: BusEvent) => {
    if (e.type === 'membership') {
      if (e.classId !== cls.id) return;
      // A join is one new row (100 learners arriving at once are not 100 snapshots); anything else, a new snapshot.
      const joined = e.learner ? deps.classes.member(cls.id, e.learner) : undefined;
      if (!joined) return resync();
      const byLesson = new Map(cls.lessons.filter((l) => deps.lessons.has(l)).map((l) => [l, deps.progressOf(joined.learner, l)]));
      members.set(joined.learner, joined);
      progress.set(joined.learner, byLesson);
      return send({ t: 'row', now: Date.now(), row: gridRow(columns, joined, byLesson) });
    }
    if (e.type !== 'progress') return;
    const member = members.get(e.learner);
    if (!member || !lessons.has(e.lesson)) return;
    const byLesson = progress.get(e.learner) ?? new Map<string, ProgressEvent>();
    byLesson.set(e.lesson, e);
    progress.set(e.learner, byLesson);
    send({ t: 'row', now: Date.now(), row: gridRow(columns, member, byLesson) });
  };
  const unsubscribe = deps.bus.subscribe(onEvent);
  const heartbeat = setInterval(() => {
    if (!stillAllowed()) return void res.end();
    res.write(': ping\n\n');
  }, HEARTBEAT_MS);
  res.on('close', () => {
    clearInterval(heartbeat);
    unsubscribe();
  });
}
