/**
 * The embedded store (node:sqlite, WAL). Migrations are numbered SQL steps applied
 * once each, in order, recorded in the `migrations` table.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';

const MIGRATIONS: string[] = [
  `CREATE TABLE learners (
     handle TEXT PRIMARY KEY,
     created_at INTEGER NOT NULL,
     last_seen_at INTEGER NOT NULL
   ) STRICT`,
];

export class Store {
  readonly db: DatabaseSync;

  constructor(path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new DatabaseSync(path);
    this.db.exec('PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;');
    this.migrate();
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

  touchLearner(handle: string): void {
    this.db.prepare('UPDATE learners SET last_seen_at = ? WHERE handle = ?').run(Date.now(), handle);
  }

  close(): void {
    this.db.close();
  }
}
