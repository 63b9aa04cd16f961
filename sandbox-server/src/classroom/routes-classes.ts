/**
 * Routes for classes (the instructor's: create, list, the grid and its stream,
 * exports, end) and for joining one (the learner's: look a code up, join with a
 * display name). Declared as in routes.ts.
 */
import type { IncomingMessage } from 'node:http';
import { randomUUID } from 'node:crypto';
import QRCode from 'qrcode';
import { z } from 'zod';
import type { Store } from '../store.ts';
import type { Logger } from '../log.ts';
import { CLASS_EVENTS_PATH, CLASS_PATH, type ClassNotice, MAX_NOTICE_CHARS } from '../protocol.ts';
import type { BusEvent } from './progress-bus.ts';
import { authenticate } from '../http.ts';
import { handleOf, learnerCookie, newLearnerId } from '../identity.ts';
import { RateLimiter } from '../rate-limit.ts';
import { type Route, route } from './routes-dispatch.ts';
import { type Classes, MAX_DISPLAY_NAME, cleanDisplayName, normalizeCode } from './classes.ts';
import { type GridDeps, gridSnapshot, streamGrid } from './grid.ts';
import { classCsv, classJson } from './export.ts';
import type { Sessions } from './sessions.ts';
import { MAX_RESERVED_IMAGES, type Reservation, type ReservationState } from '../reservations.ts';

export interface ClassRouteDeps extends GridDeps {
  store: Store;
  classes: Classes;
  sessions: Sessions;
  /** Over https learner cookies are __Host- and Secure (identity.ts). */
  secure: boolean;
  /** The site's address as learners reach it (the join link and its QR code). */
  publicBase: () => string;
  /** A warm sandbox's learner id, when the pool has one (as /api/session); a class's learners get its reserved ones first. */
  claimWarm: (classId?: string) => string | undefined;
  /** The learners' sandboxes (SandboxManager): resets, stops when the class ends, and capacity reserved ahead. */
  sandboxes: {
    reset(learner: string): Promise<void>;
    stop(learner: string): Promise<void>;
    reserve(r: Reservation): unknown;
    reservationProblem(r: Reservation): string | undefined;
    cancelReservation(id: string): boolean;
    reservation(id: string): (ReservationState & { ready: number; booting: number }) | undefined;
    headroom(): { slotsMax: number; slotsUsed: number; waiting: number; availableMemoryBytes?: number };
  };
  log: Logger;
}

/** Joins and code lookups per address: a whole class behind one school NAT arrives at once, a guesser does not get far. */
export const JOIN_RATE = { perSecond: 2, burst: 200 };

const classBody = z.object({
  name: z.string().trim().min(1).max(80),
  lessons: z.array(z.string().max(100)).min(1).max(50),
  startsAt: z.number().int().positive().optional(),
  endsAt: z.number().int().positive().optional(),
  limits: z.object({ memoryMiB: z.number().int().min(256).max(65536).optional(), cpus: z.number().min(0.1).max(64).optional() }).strict().optional(),
  /** Sandboxes booted before the start, with these images already pulled (needs the schedule window). */
  reserve: z
    .object({ count: z.number().int().min(1).max(500), images: z.array(z.string().trim().min(1).max(200)).max(MAX_RESERVED_IMAGES).default([]) })
    .strict()
    .optional(),
});

/** /join/CODE/ and /en/join/CODE/ are one page each (dist/join/index.html reads the code from the address). */
export function joinPagePath(path: string): string | undefined {
  const m = /^(\/en)?\/join\/[^/]+\/?$/.exec(path);
  return m ? `${m[1] ?? ''}/join/` : undefined;
}

export function classRoutes(deps: ClassRouteDeps): Route[] {
  const { classes, store } = deps;
  const joins = new RateLimiter(JOIN_RATE);
  const joinLimit = [{ limiter: joins, what: 'join attempts from your address' }];
  const joinUrl = (code: string) => `${deps.publicBase().replace(/\/$/, '')}/join/${code}/`;
  const owned = (instructor: string, id: string) => classes.owned(instructor, id);
  const notFound = { status: 404, body: { error: 'no such class' } };

  return [
    route({
      method: 'GET',
      path: '/api/teach/classes',
      auth: 'instructor',
      handle: ({ instructor }) => ({
        status: 200,
        body: { classes: classes.list(instructor.id).map((c) => ({ id: c.id, name: c.name, code: c.code, members: c.members, endedAt: c.endedAt })) },
      }),
    }),
    route({
      method: 'POST',
      path: '/api/teach/classes',
      auth: 'instructor',
      body: classBody,
      handle: ({ instructor, body }) => {
        const unknown = body.lessons.filter((l) => !deps.lessons.has(l));
        if (unknown.length) return { status: 400, body: { error: `no such lesson: ${unknown.join(', ')}` } };
        if (new Set(body.lessons).size !== body.lessons.length) return { status: 400, body: { error: 'a lesson is listed twice' } };
        if (body.startsAt && body.endsAt && body.endsAt <= body.startsAt) return { status: 400, body: { error: 'the class ends before it starts' } };
        const id = randomUUID();
        let reservation: Reservation | undefined;
        if (body.reserve) {
          if (!body.startsAt || !body.endsAt) return { status: 400, body: { error: 'reserving sandboxes needs the class\'s start and end' } };
          reservation = { id, count: body.reserve.count, startsAt: body.startsAt, endsAt: body.endsAt, images: body.reserve.images };
          const problem = deps.sandboxes.reservationProblem(reservation);
          if (problem) return { status: 400, body: { error: `cannot reserve: ${problem}` } };
        }
        const { reserve, ...fields } = body;
        const c = classes.create(instructor.id, { ...fields, ...(reserve ? { reservation: { count: reserve.count, images: reserve.images } } : {}) }, id);
        if (reservation) deps.sandboxes.reserve(reservation);
        return { status: 201, body: { id: c.id, code: c.code } };
      },
    }),
    route({
      method: 'GET',
      path: '/api/teach/classes/:id',
      auth: 'instructor',
      async handle({ instructor, params }) {
        const c = owned(instructor.id, params.id!);
        if (!c) return notFound;
        const link = joinUrl(c.code);
        const qr = await QRCode.toString(link, { type: 'svg', margin: 2, errorCorrectionLevel: 'M' });
        return {
          status: 200,
          body: {
            id: c.id, name: c.name, code: c.code, lessons: c.lessons, startsAt: c.startsAt, endsAt: c.endsAt, limits: c.limits, endedAt: c.endedAt, joinUrl: link, qrSvg: qr,
            // What the class booked, and what is booted for it now (absent once its window is over).
            reservation: c.reservation ? { ...c.reservation, ...pick(deps.sandboxes.reservation(c.id)) } : null,
            headroom: deps.sandboxes.headroom(),
          },
        };
      },
    }),
    route({
      method: 'GET',
      path: '/api/teach/classes/:id/grid',
      auth: 'instructor',
      handle: ({ instructor, params }) => {
        const c = owned(instructor.id, params.id!);
        if (!c) return notFound;
        const { columns, rows } = gridSnapshot(deps, c);
        return { status: 200, body: { columns, rows } };
      },
    }),
    route({
      method: 'GET',
      path: '/api/teach/classes/:id/events',
      auth: 'instructor',
      handle: ({ req, res, instructor, params }) => {
        const c = owned(instructor.id, params.id!);
        if (!c) return notFound;
        streamGrid(deps, c, res, () => deps.sessions.instructorOf(req)?.id === instructor.id);
        return 'sent';
      },
    }),
    route({
      method: 'GET',
      path: '/api/teach/classes/:id/export.csv',
      auth: 'instructor',
      handle: ({ res, instructor, params }) => {
        const c = owned(instructor.id, params.id!);
        if (!c) return notFound;
        const { columns, rows } = gridSnapshot(deps, c);
        res.writeHead(200, {
          'Content-Type': 'text/csv; charset=utf-8',
          'Cache-Control': 'no-store',
          'Content-Disposition': `attachment; filename="berth-class-${c.code}.csv"`,
        });
        res.end(classCsv(c, columns, rows));
        return 'sent';
      },
    }),
    route({
      method: 'GET',
      path: '/api/teach/classes/:id/export.json',
      auth: 'instructor',
      handle: ({ instructor, params }) => {
        const c = owned(instructor.id, params.id!);
        if (!c) return notFound;
        const { columns, rows } = gridSnapshot(deps, c);
        return {
          status: 200,
          body: classJson(c, columns, rows, (learner) => store.scores(learner), (learner) => store.evidence(learner)),
          headers: { 'Content-Disposition': `attachment; filename="berth-class-${c.code}.json"` },
        };
      },
    }),
    route({
      method: 'GET',
      path: '/api/teach/classes/:id/evidence/:learner',
      auth: 'instructor',
      // What a member's graded checks observed when each exercise passed, for the class's lessons.
      handle: ({ instructor, params }) => {
        const c = owned(instructor.id, params.id!);
        if (!c || !classes.isMember(c.id, params.learner!)) return notFound;
        const evidence = store.evidence(params.learner!).filter((e) => c.lessons.includes(e.lesson));
        return { status: 200, body: { evidence: evidence.map((e) => ({ ...e, late: c.endsAt !== null && e.recordedAt > c.endsAt })) } };
      },
    }),
    route({
      method: 'POST',
      path: '/api/teach/classes/:id/end',
      auth: 'instructor',
      handle: ({ instructor, params }) => {
        const c = owned(instructor.id, params.id!);
        if (!c) return notFound;
        classes.end(c.id);
        deps.sandboxes.cancelReservation(c.id);
        deps.bus.publish({ type: 'membership', classId: c.id, at: Date.now() });
        deps.bus.publish({ type: 'notice', classId: c.id, notice: { kind: 'ended' }, at: Date.now() });
        // Stopped, not removed: each learner's work and progress stay theirs.
        for (const m of classes.members(c.id)) {
          if (classes.classesOf(m.learner).length === 0) {
            deps.sandboxes.stop(m.learner).catch((err: Error) => deps.log.warn({ err: err.message }, 'could not stop a sandbox of an ended class'));
          }
        }
        return { status: 204 };
      },
    }),
    route({
      method: 'POST',
      path: '/api/teach/classes/:id/notice',
      auth: 'instructor',
      body: z.object({ text: z.string().trim().min(1).max(MAX_NOTICE_CHARS) }),
      handle: ({ instructor, params, body }) => {
        const c = owned(instructor.id, params.id!);
        if (!c || c.endedAt !== null) return notFound;
        deps.bus.publish({ type: 'notice', classId: c.id, notice: { kind: 'message', text: body.text }, at: Date.now() });
        return { status: 204 };
      },
    }),
    route({
      method: 'POST',
      path: '/api/teach/classes/:id/learners/:learner/reset',
      auth: 'instructor',
      handle: ({ instructor, params }) => {
        const c = owned(instructor.id, params.id!);
        if (!c || c.endedAt !== null || !classes.isMember(c.id, params.learner!)) return notFound;
        // As the learner's own reset: a fresh sandbox, progress kept.
        deps.sandboxes.reset(params.learner!).catch((err: Error) => deps.log.warn({ err: err.message }, 'instructor reset failed'));
        return { status: 202 };
      },
    }),

    // The learner's side: no account, their usual cookie.
    route({
      method: 'GET',
      path: CLASS_PATH,
      auth: 'public',
      handle: ({ req }) => {
        const learner = authenticate(store, req, deps.secure);
        return { status: 200, body: { classes: learner ? classes.classesOf(learner).length : 0 } };
      },
    }),
    route({
      method: 'GET',
      path: CLASS_EVENTS_PATH,
      auth: 'public',
      handle: ({ req, res }) => {
        const learner = authenticate(store, req, deps.secure);
        const mine = new Set(learner ? classes.classesOf(learner) : []);
        // No Content: EventSource stops and does not reconnect (the page is not in a class).
        if (!learner || mine.size === 0) return { status: 204 };
        res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', 'X-Accel-Buffering': 'no' });
        res.write('retry: 5000\n\n');
        const send = (msg: ClassNotice) => res.write(`data: ${JSON.stringify(msg)}\n\n`);
        const unsubscribe = deps.bus.subscribe((e: BusEvent) => {
          if (e.type === 'membership' && e.learner === learner) for (const id of classes.classesOf(learner)) mine.add(id);
          if (e.type !== 'notice' || !mine.has(e.classId)) return;
          send(e.notice.kind === 'message' ? { t: 'message', text: e.notice.text, at: e.at } : { t: 'ended', at: e.at });
        });
        const heartbeat = setInterval(() => res.write(': ping\n\n'), 20_000);
        res.on('close', () => {
          clearInterval(heartbeat);
          unsubscribe();
        });
        return 'sent';
      },
    }),
    route({
      method: 'GET',
      path: '/api/join/:code',
      auth: 'public',
      limits: joinLimit,
      handle: ({ params }) => {
        const code = normalizeCode(params.code!);
        const c = code && classes.byCode(code);
        if (!c) return { status: 404, body: { error: 'no running class has this code' } };
        return { status: 200, body: { name: c.name, code: c.code, firstLesson: c.lessons[0] } };
      },
    }),
    route({
      method: 'POST',
      path: '/api/join/:code',
      auth: 'public',
      body: z.object({ name: z.string().max(MAX_DISPLAY_NAME * 4) }),
      limits: joinLimit,
      handle: ({ req, params, body }) => {
        const code = normalizeCode(params.code!);
        const c = code && classes.byCode(code);
        if (!c) return { status: 404, body: { error: 'no running class has this code' } };
        const name = cleanDisplayName(body.name);
        if (!name) return { status: 400, body: { error: `a display name is 1-${MAX_DISPLAY_NAME} characters without control characters` } };
        const { learner, setCookie } = learnerOf(deps, req, c.id);
        classes.join(c.id, learner, name);
        deps.bus.publish({ type: 'membership', classId: c.id, learner, at: Date.now() });
        const headers: Record<string, string> = setCookie ? { 'Set-Cookie': setCookie } : {};
        return { status: 200, body: { class: c.name, firstLesson: c.lessons[0] }, headers };
      },
    }),
  ];
}

/** A live reservation's counts for the class page. */
function pick(r: (ReservationState & { ready: number; booting: number }) | undefined): { ready: number; booting: number; claimed: number; active: boolean } {
  return r ? { ready: r.ready, booting: r.booting, claimed: r.claimed, active: true } : { ready: 0, booting: 0, claimed: 0, active: false };
}

/** The request's learner, or a new one with the usual cookie (as GET /api/session makes them). */
function learnerOf(deps: ClassRouteDeps, req: IncomingMessage, classId: string): { learner: string; setCookie?: string } {
  const known = authenticate(deps.store, req, deps.secure);
  if (known) return { learner: known };
  const id = deps.claimWarm(classId) ?? newLearnerId();
  const learner = handleOf(id);
  deps.store.addLearner(learner);
  return { learner, setCookie: learnerCookie(id, deps.secure) };
}
