/**
 * Classes: an instructor's named group of learners working through lessons in a
 * given order. Learners join with a short code (no account: their usual learner
 * cookie) and a display name. What an instructor may see of a learner follows
 * from membership alone: canWatch() and the grid ask here.
 */
import { randomInt, randomUUID } from 'node:crypto';
import type { Store } from '../store.ts';

/** No 0/O, 1/I/L, 5/S, 8/B: a code read off a projector is typed without guessing. */
export const CODE_ALPHABET = '234679ACDEFGHJKMNPQRTUVWXYZ';
export const CODE_LENGTH = 6;
export const MAX_DISPLAY_NAME = 40;

/** Per-class sandbox limits: stored with the class; sandboxes do not apply them yet. */
export interface ClassLimits {
  memoryMiB?: number;
  cpus?: number;
}

/** Sandboxes booted ahead for the class's start, with these images pulled (reservations.ts). */
export interface ClassReservation {
  count: number;
  images: string[];
}

export interface ClassRow {
  id: string;
  instructor: string;
  name: string;
  code: string;
  lessons: string[];
  startsAt: number | null;
  endsAt: number | null;
  limits: ClassLimits;
  reservation: ClassReservation | null;
  createdAt: number;
  endedAt: number | null;
}

export interface Member {
  learner: string;
  displayName: string;
  joinedAt: number;
}

export function newCode(): string {
  let code = '';
  for (let i = 0; i < CODE_LENGTH; i++) code += CODE_ALPHABET[randomInt(CODE_ALPHABET.length)];
  return code;
}

/** What a learner typed, as a code: case, spaces and dashes do not matter. */
export function normalizeCode(input: string): string | undefined {
  const code = input.toUpperCase().replace(/[\s-]/g, '');
  return code.length === CODE_LENGTH && [...code].every((c) => CODE_ALPHABET.includes(c)) ? code : undefined;
}

/** A display name: NFC, trimmed, 1-40 characters, no control, format or separator-only characters. */
export function cleanDisplayName(input: string): string | undefined {
  const raw = input.normalize('NFC');
  // Control and format characters (bidi overrides, zero-width) could disguise one name as another;
  // checked before spaces are collapsed, since \s also matches some of them.
  if (/[\p{Cc}\p{Cf}\p{Co}\p{Cn}\u2028\u2029]/u.test(raw)) return undefined;
  const name = raw.trim().replace(/\s+/g, ' ');
  if (!name || [...name].length > MAX_DISPLAY_NAME) return undefined;
  return name;
}

interface RawClass {
  id: string;
  instructor: string;
  name: string;
  code: string;
  lessons: string;
  startsAt: number | null;
  endsAt: number | null;
  limits: string | null;
  reservation: string | null;
  createdAt: number;
  endedAt: number | null;
}

const COLUMNS = 'id, instructor, name, code, lessons, starts_at AS startsAt, ends_at AS endsAt, limits, reservation, created_at AS createdAt, ended_at AS endedAt';
const parse = (r: RawClass): ClassRow => ({
  ...r,
  lessons: JSON.parse(r.lessons) as string[],
  limits: r.limits ? (JSON.parse(r.limits) as ClassLimits) : {},
  reservation: r.reservation ? (JSON.parse(r.reservation) as ClassReservation) : null,
});

export class Classes {
  private readonly store: Store;
  private readonly now: () => number;

  constructor(store: Store, now: () => number = Date.now) {
    this.store = store;
    this.now = now;
  }

  create(instructor: string, c: { name: string; lessons: string[]; startsAt?: number; endsAt?: number; limits?: ClassLimits; reservation?: ClassReservation }, id = randomUUID()): ClassRow {
    // A clash is rare (27^6 codes): draw again.
    for (;;) {
      const code = newCode();
      const taken = this.store.db.prepare('SELECT 1 FROM classes WHERE code = ?').get(code);
      if (taken) continue;
      this.store.db
        .prepare('INSERT INTO classes (id, instructor, name, code, lessons, starts_at, ends_at, limits, reservation, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
        .run(id, instructor, c.name, code, JSON.stringify(c.lessons), c.startsAt ?? null, c.endsAt ?? null, JSON.stringify(c.limits ?? {}), c.reservation ? JSON.stringify(c.reservation) : null, this.now());
      return this.byId(id)!;
    }
  }

  byId(id: string): ClassRow | undefined {
    const r = this.store.db.prepare(`SELECT ${COLUMNS} FROM classes WHERE id = ?`).get(id) as RawClass | undefined;
    return r && parse(r);
  }

  /** The class, only when `instructor` owns it. */
  owned(instructor: string, id: string): ClassRow | undefined {
    const c = this.byId(id);
    return c?.instructor === instructor ? c : undefined;
  }

  list(instructor: string): (ClassRow & { members: number })[] {
    const rows = this.store.db
      .prepare(`SELECT ${COLUMNS}, (SELECT COUNT(*) FROM class_members m WHERE m.class = classes.id) AS members FROM classes WHERE instructor = ? ORDER BY created_at DESC`)
      .all(instructor) as unknown as (RawClass & { members: number })[];
    return rows.map((r) => ({ ...parse(r), members: r.members }));
  }

  /** Classes not ended whose reservation's window is not over (booked again when the server starts). */
  reserved(now: number): ClassRow[] {
    const rows = this.store.db
      .prepare(`SELECT ${COLUMNS} FROM classes WHERE ended_at IS NULL AND reservation IS NOT NULL AND ends_at > ?`)
      .all(now) as unknown as RawClass[];
    return rows.map(parse);
  }

  /** A class learners can join now: not ended. */
  byCode(code: string): ClassRow | undefined {
    const r = this.store.db.prepare(`SELECT ${COLUMNS} FROM classes WHERE code = ? AND ended_at IS NULL`).get(code) as RawClass | undefined;
    return r && parse(r);
  }

  /** Joins (or renames, when already a member). */
  join(classId: string, learner: string, displayName: string): void {
    this.store.db
      .prepare(
        `INSERT INTO class_members (class, learner, display_name, joined_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (class, learner) DO UPDATE SET display_name = excluded.display_name`,
      )
      .run(classId, learner, displayName, this.now());
  }

  leave(classId: string, learner: string): void {
    this.store.db.prepare('DELETE FROM class_members WHERE class = ? AND learner = ?').run(classId, learner);
  }

  members(classId: string): Member[] {
    return this.store.db
      .prepare('SELECT learner, display_name AS displayName, joined_at AS joinedAt FROM class_members WHERE class = ? ORDER BY joined_at, learner')
      .all(classId) as unknown as Member[];
  }

  member(classId: string, learner: string): Member | undefined {
    return this.store.db
      .prepare('SELECT learner, display_name AS displayName, joined_at AS joinedAt FROM class_members WHERE class = ? AND learner = ?')
      .get(classId, learner) as Member | undefined;
  }

  isMember(classId: string, learner: string): boolean {
    return this.store.db.prepare('SELECT 1 FROM class_members WHERE class = ? AND learner = ?').get(classId, learner) !== undefined;
  }

  /** Ends a class: nobody joins any more; members and progress stay. */
  end(classId: string): void {
    this.store.db.prepare('UPDATE classes SET ended_at = COALESCE(ended_at, ?) WHERE id = ?').run(this.now(), classId);
  }

  /** The learner is a member of a running class that the instructor owns (the contract watch* builds on). */
  canWatch(instructorId: string, learnerId: string): boolean {
    return (
      this.store.db
        .prepare('SELECT 1 FROM class_members m JOIN classes c ON c.id = m.class WHERE m.learner = ? AND c.instructor = ? AND c.ended_at IS NULL')
        .get(learnerId, instructorId) !== undefined
    );
  }

  /** The learner's current class (the latest joined that has not ended), with its lessons in order. */
  classOfLearner(learnerId: string): { classId: string; lessons: string[] } | undefined {
    const r = this.store.db
      .prepare('SELECT c.id, c.lessons FROM class_members m JOIN classes c ON c.id = m.class WHERE m.learner = ? AND c.ended_at IS NULL ORDER BY m.joined_at DESC LIMIT 1')
      .get(learnerId) as { id: string; lessons: string } | undefined;
    return r && { classId: r.id, lessons: JSON.parse(r.lessons) as string[] };
  }

  /** The running classes a learner is in (for messages to the class). */
  classesOf(learnerId: string): string[] {
    return (this.store.db.prepare('SELECT m.class AS id FROM class_members m JOIN classes c ON c.id = m.class WHERE m.learner = ? AND c.ended_at IS NULL').all(learnerId) as { id: string }[]).map((r) => r.id);
  }
}
