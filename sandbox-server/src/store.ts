/**
 * The embedded store (node:sqlite, WAL). Migrations are numbered SQL steps applied
 * once each, in order, recorded in the `migrations` table.
 */
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';

const MIGRATIONS: string[] = [
  `CREATE TABLE learners (
     handle TEXT PRIMARY KEY,
     created_at INTEGER NOT NULL,
     last_seen_at INTEGER NOT NULL
   ) STRICT`,
  `CREATE TABLE progress (
     learner TEXT NOT NULL,
     lesson TEXT NOT NULL,
     exercise TEXT NOT NULL,
     first_passed_at INTEGER,
     attempts INTEGER NOT NULL DEFAULT 0,
     hints_used INTEGER NOT NULL DEFAULT 0,
     solution_revealed_at INTEGER,
     updated_at INTEGER NOT NULL,
     PRIMARY KEY (learner, lesson, exercise)
   ) STRICT;
   CREATE TABLE scores (
     learner TEXT NOT NULL,
     lesson TEXT NOT NULL,
     passed INTEGER NOT NULL,
     total INTEGER NOT NULL,
     recorded_at INTEGER NOT NULL,
     PRIMARY KEY (learner, lesson)
   ) STRICT`,
  `CREATE TABLE quiz_answers (
     learner TEXT NOT NULL,
     lesson TEXT NOT NULL,
     quiz TEXT NOT NULL,
     answers TEXT NOT NULL,
     answered_at INTEGER NOT NULL,
     PRIMARY KEY (learner, lesson, quiz)
   ) STRICT`,
  // When this store began issuing __Host- cookies over https: older learners may still present the plain name.
  `CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) STRICT;
   INSERT INTO meta (key, value) VALUES ('host_cookie_since', CAST(unixepoch('subsec') * 1000 AS INTEGER))`,
  // When the learner first tried an exercise: before that it reads neutral, without feedback.
  `ALTER TABLE progress ADD COLUMN tried_at INTEGER`,
  // Graded exercises: what the checks observed when the exercise first passed.
  `CREATE TABLE evidence (
     learner TEXT NOT NULL,
     lesson TEXT NOT NULL,
     exercise TEXT NOT NULL,
     recorded_at INTEGER NOT NULL,
     checks TEXT NOT NULL,
     PRIMARY KEY (learner, lesson, exercise)
   ) STRICT`,
  // Classrooms (classroom/): instructors, their one-time login links and sessions (hashes
  // only, as learner cookies), classes and their members.
  `CREATE TABLE instructors (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL UNIQUE,
     password_hash TEXT,
     created_at INTEGER NOT NULL
   ) STRICT;
   CREATE TABLE instructor_links (
     token_hash TEXT PRIMARY KEY,
     instructor TEXT NOT NULL REFERENCES instructors (id) ON DELETE CASCADE,
     expires_at INTEGER NOT NULL
   ) STRICT;
   CREATE TABLE instructor_sessions (
     token_hash TEXT PRIMARY KEY,
     instructor TEXT NOT NULL REFERENCES instructors (id) ON DELETE CASCADE,
     created_at INTEGER NOT NULL,
     last_used_at INTEGER NOT NULL
   ) STRICT;
   CREATE TABLE classes (
     id TEXT PRIMARY KEY,
     instructor TEXT NOT NULL REFERENCES instructors (id) ON DELETE CASCADE,
     name TEXT NOT NULL,
     code TEXT NOT NULL UNIQUE,
     lessons TEXT NOT NULL,
     starts_at INTEGER,
     ends_at INTEGER,
     limits TEXT,
     created_at INTEGER NOT NULL,
     ended_at INTEGER
   ) STRICT;
   CREATE TABLE class_members (
     class TEXT NOT NULL REFERENCES classes (id) ON DELETE CASCADE,
     learner TEXT NOT NULL,
     display_name TEXT NOT NULL,
     joined_at INTEGER NOT NULL,
     PRIMARY KEY (class, learner)
   ) STRICT;
   CREATE INDEX class_members_learner ON class_members (learner)`,
  // Capacity a class reserves ahead (count, images): the pool warms it before the class starts.
  `ALTER TABLE classes ADD COLUMN reservation TEXT`,
];

/** What a graded exercise's checks observed when it passed (untrusted sandbox text). */
export interface EvidenceRow {
  lesson: string;
  exercise: string;
  recordedAt: number;
  /** Per check, in the exercise's order: its type and what it saw. */
  checks: { type: string; observed: string }[];
}

export interface ProgressRow {
  lesson: string;
  exercise: string;
  firstPassedAt: number | null;
  attempts: number;
  hintsUsed: number;
  solutionRevealedAt: number | null;
  /** The learner's first attempt (Check pressed, or a check's result changed): see exercises/live.ts. */
  triedAt: number | null;
}

export interface ScoreRow {
  lesson: string;
  passed: number;
  total: number;
  recordedAt: number;
}

export class Store {
  readonly db: DatabaseSync;

  constructor(path: string) {
    if (path !== ':memory:') createPrivately(path);
    this.db = new DatabaseSync(path);
    // NORMAL in WAL mode: a commit is not fsynced (a power cut may lose the last ones,
    // never corrupt the file); FULL synced every hint and quiz on the event loop.
    this.db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;');
    this.migrate();
  }

  private depth = 0;

  /** Runs `fn` in one transaction (one commit for all its writes); nested calls join the outer one. */
  transaction<T>(fn: () => T): T {
    if (this.depth > 0) return fn();
    this.db.exec('BEGIN IMMEDIATE');
    this.depth++;
    try {
      const result = fn();
      this.db.exec('COMMIT');
      return result;
    } catch (err) {
      if (this.db.isTransaction) this.db.exec('ROLLBACK');
      throw err;
    } finally {
      this.depth--;
    }
  }

  private migrate(): void {
    this.db.exec('CREATE TABLE IF NOT EXISTS migrations (id INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT');
    const row = this.db.prepare('SELECT COALESCE(MAX(id), 0) AS v FROM migrations').get() as { v: number };
    for (let i = row.v; i < MIGRATIONS.length; i++) {
      this.db.exec('BEGIN');
      try {
        this.db.exec(MIGRATIONS[i]!);
        this.db.prepare('INSERT INTO migrations (id, applied_at) VALUES (?, ?)').run(i + 1, Date.now());
        this.db.exec('COMMIT');
      } catch (err) {
        this.db.exec('ROLLBACK');
        throw new Error(`store migration ${i + 1} failed: ${(err as Error).message}`);
      }
    }
  }

  addLearner(handle: string): void {
    const now = Date.now();
    this.db.prepare('INSERT OR IGNORE INTO learners (handle, created_at, last_seen_at) VALUES (?, ?, ?)').run(handle, now, now);
  }

  hasLearner(handle: string): boolean {
    return this.db.prepare('SELECT 1 FROM learners WHERE handle = ?').get(handle) !== undefined;
  }

  /** When the learner last loaded a page (epoch ms), or undefined for an unknown learner. */
  lastSeenAt(handle: string): number | undefined {
    const row = this.db.prepare('SELECT last_seen_at AS t FROM learners WHERE handle = ?').get(handle) as { t: number } | undefined;
    return row?.t;
  }

  touchLearner(handle: string): void {
    this.db.prepare('UPDATE learners SET last_seen_at = ? WHERE handle = ?').run(Date.now(), handle);
  }

  progress(learner: string, lesson?: string): ProgressRow[] {
    const sql = `SELECT lesson, exercise, first_passed_at AS firstPassedAt, attempts, hints_used AS hintsUsed,
                        solution_revealed_at AS solutionRevealedAt, tried_at AS triedAt
                   FROM progress WHERE learner = ?${lesson ? ' AND lesson = ?' : ''} ORDER BY lesson, exercise`;
    const args = lesson ? [learner, lesson] : [learner];
    return this.db.prepare(sql).all(...args) as unknown as ProgressRow[];
  }

  private upsert(learner: string, lesson: string, exercise: string, set: string, ...args: (number | string)[]): void {
    this.transaction(() => this.upsertNow(learner, lesson, exercise, set, ...args));
  }

  private upsertNow(learner: string, lesson: string, exercise: string, set: string, ...args: (number | string)[]): void {
    this.db
      .prepare(
        `INSERT INTO progress (learner, lesson, exercise, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (learner, lesson, exercise) DO UPDATE SET updated_at = excluded.updated_at`,
      )
      .run(learner, lesson, exercise, Date.now());
    this.db.prepare(`UPDATE progress SET ${set} WHERE learner = ? AND lesson = ? AND exercise = ?`).run(...args, learner, lesson, exercise);
  }

  /** Records the first pass; later passes keep the first time. */
  markPassed(learner: string, lesson: string, exercise: string, at = Date.now()): void {
    this.upsert(learner, lesson, exercise, 'first_passed_at = COALESCE(first_passed_at, ?)', at);
  }

  addAttempt(learner: string, lesson: string, exercise: string): void {
    this.upsert(learner, lesson, exercise, 'attempts = attempts + 1, tried_at = COALESCE(tried_at, ?)', Date.now());
  }

  /** Records the first attempt; later ones keep the first time. */
  markTried(learner: string, lesson: string, exercise: string, at = Date.now()): void {
    this.upsert(learner, lesson, exercise, 'tried_at = COALESCE(tried_at, ?)', at);
  }

  /** Hints are counted up to `total`; returns the new count. */
  useHint(learner: string, lesson: string, exercise: string, total: number): number {
    this.upsert(learner, lesson, exercise, 'hints_used = MIN(hints_used + 1, ?)', total);
    return this.progress(learner, lesson).find((r) => r.exercise === exercise)!.hintsUsed;
  }

  revealSolution(learner: string, lesson: string, exercise: string): void {
    this.upsert(learner, lesson, exercise, 'solution_revealed_at = COALESCE(solution_revealed_at, ?)', Date.now());
  }

  recordScore(learner: string, lesson: string, passed: number, total: number): void {
    this.db
      .prepare(
        `INSERT INTO scores (learner, lesson, passed, total, recorded_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (learner, lesson) DO UPDATE SET passed = excluded.passed, total = excluded.total, recorded_at = excluded.recorded_at`,
      )
      .run(learner, lesson, passed, total, Date.now());
  }

  scores(learner: string): ScoreRow[] {
    return this.db
      .prepare('SELECT lesson, passed, total, recorded_at AS recordedAt FROM scores WHERE learner = ? ORDER BY lesson')
      .all(learner) as unknown as ScoreRow[];
  }

  /** The learner's last answers to a quiz (per question, the chosen indexes). */
  saveQuizAnswers(learner: string, lesson: string, quiz: string, answers: number[][]): void {
    this.db
      .prepare(
        `INSERT INTO quiz_answers (learner, lesson, quiz, answers, answered_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (learner, lesson, quiz) DO UPDATE SET answers = excluded.answers, answered_at = excluded.answered_at`,
      )
      .run(learner, lesson, quiz, JSON.stringify(answers), Date.now());
  }

  quizAnswers(learner: string, lesson: string, quiz: string): number[][] | undefined {
    const row = this.db.prepare('SELECT answers FROM quiz_answers WHERE learner = ? AND lesson = ? AND quiz = ?').get(learner, lesson, quiz) as
      | { answers: string }
      | undefined;
    return row ? (JSON.parse(row.answers) as number[][]) : undefined;
  }

  /** Keeps the evidence of an exercise's first pass; later runs do not replace it. */
  recordEvidence(learner: string, lesson: string, exercise: string, checks: EvidenceRow['checks'], at = Date.now()): void {
    this.db
      .prepare('INSERT OR IGNORE INTO evidence (learner, lesson, exercise, recorded_at, checks) VALUES (?, ?, ?, ?, ?)')
      .run(learner, lesson, exercise, at, JSON.stringify(checks));
  }

  evidence(learner: string, lesson?: string): EvidenceRow[] {
    const rows = (
      lesson === undefined
        ? this.db.prepare('SELECT lesson, exercise, recorded_at AS recordedAt, checks FROM evidence WHERE learner = ? ORDER BY lesson, exercise').all(learner)
        : this.db.prepare('SELECT lesson, exercise, recorded_at AS recordedAt, checks FROM evidence WHERE learner = ? AND lesson = ? ORDER BY exercise').all(learner, lesson)
    ) as { lesson: string; exercise: string; recordedAt: number; checks: string }[];
    return rows.map((r) => ({ ...r, checks: JSON.parse(r.checks) as EvidenceRow['checks'] }));
  }

  /** Whether a learner's record is older than `at` (epoch ms). */
  createdBefore(handle: string, at: number): boolean {
    const row = this.db.prepare('SELECT created_at AS t FROM learners WHERE handle = ?').get(handle) as { t: number } | undefined;
    return row !== undefined && row.t < at;
  }

  /** When __Host- cookies began (epoch ms): see identity.ts. */
  hostCookieSince(): number {
    return (this.db.prepare("SELECT value FROM meta WHERE key = 'host_cookie_since'").get() as { value: number }).value;
  }

  /** "Forget me": the learner's record and everything recorded about them, in one transaction. */
  forgetLearner(learner: string): void {
    this.transaction(() => {
      this.resetProgress(learner);
      this.db.prepare('DELETE FROM class_members WHERE learner = ?').run(learner);
      this.db.prepare('DELETE FROM learners WHERE handle = ?').run(learner);
    });
  }

  resetProgress(learner: string): void {
    this.transaction(() => {
      this.db.prepare('DELETE FROM quiz_answers WHERE learner = ?').run(learner);
      this.db.prepare('DELETE FROM progress WHERE learner = ?').run(learner);
      this.db.prepare('DELETE FROM scores WHERE learner = ?').run(learner);
      this.db.prepare('DELETE FROM evidence WHERE learner = ?').run(learner);
    });
  }

  close(): void {
    this.db.close();
  }
}

/**
 * The data directory (700) and the database with its WAL and shared-memory files
 * (600): progress is personal, and nothing else on the host needs to read it.
 * SQLite gives -wal and -shm the database file's mode; files from before are fixed.
 */
function createPrivately(path: string): void {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  tighten(dir, 0o700);
  closeSync(openSync(path, 'a', 0o600));
  for (const file of [path, `${path}-wal`, `${path}-shm`]) if (existsSync(file)) tighten(file, 0o600);
}

function tighten(path: string, mode: number): void {
  try {
    chmodSync(path, mode);
  } catch {
    // not ours to change (e.g. a directory an operator provides): their permissions stand
  }
}
