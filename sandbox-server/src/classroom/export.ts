/**
 * Grades and progress out of a class: CSV in the layout of a Canvas gradebook
 * export (Student, ID, SIS User ID, SIS Login ID, Section, then one column per
 * lesson score, and a "Points Possible" row), UTF-8 with a BOM so Excel reads
 * Korean names; and JSON with every exercise. Both come from the grid's snapshot.
 */
import type { EvidenceRow } from '../store.ts';
import type { GridColumn, GridRow } from '../protocol.ts';
import type { ClassRow } from './classes.ts';

/**
 * A CSV field. Spreadsheets run a cell that starts with = + - @ (or a tab or CR
 * before one) as a formula: such a value gets a leading apostrophe, which they show
 * as text. Quoted when it holds a comma, quote or line break.
 */
export function csvField(value: string | number): string {
  let text = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

const csvLine = (fields: (string | number)[]) => fields.map(csvField).join(',');

/** The learner's id in exports: the first 8 hex digits of the handle (as /api/progress/export). */
export const exportId = (learner: string) => learner.slice(0, 8);

export function classCsv(cls: ClassRow, columns: GridColumn[], rows: GridRow[]): string {
  const lessons = cls.lessons.filter((l) => columns.some((c) => c.lesson === l));
  const header = ['Student', 'ID', 'SIS User ID', 'SIS Login ID', 'Section', ...lessons];
  const points = ['    Points Possible', '', '', '', '', ...lessons.map((l) => columns.filter((c) => c.lesson === l).length)];
  const lines = [csvLine(header), csvLine(points)];
  const sorted = [...rows].sort((a, b) => a.name.localeCompare(b.name));
  for (const row of sorted) {
    const scores = lessons.map((l) => columns.reduce((n, c, i) => n + (c.lesson === l && row.cells[i]!.s === 'passed' ? 1 : 0), 0));
    lines.push(csvLine([row.name, exportId(row.learner), '', '', cls.name, ...scores]));
  }
  return `\uFEFF${lines.join('\r\n')}\r\n`;
}

/**
 * The class as JSON. Graded exercises carry the evidence their checks recorded when
 * they passed; a pass after the class's end is marked late (kept, not lost).
 */
export function classJson(
  cls: ClassRow,
  columns: GridColumn[],
  rows: GridRow[],
  scores: (learner: string) => { lesson: string; passed: number; total: number }[],
  evidence: (learner: string) => EvidenceRow[] = () => [],
): unknown {
  const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());
  return {
    exportedAt: new Date().toISOString(),
    class: { name: cls.name, code: cls.code, lessons: cls.lessons, startsAt: iso(cls.startsAt), endsAt: iso(cls.endsAt), createdAt: iso(cls.createdAt), endedAt: iso(cls.endedAt) },
    learners: rows.map((row) => {
      const seen = new Map(evidence(row.learner).map((e) => [`${e.lesson}/${e.exercise}`, e]));
      return {
      displayName: row.name,
      id: exportId(row.learner),
      joinedAt: iso(row.joinedAt),
      exercises: columns.map((c, i) => {
        const cell = row.cells[i]!;
        const ev = seen.get(`${c.lesson}/${c.id}`);
        return {
          lesson: c.lesson, exercise: c.id, status: cell.s, firstPassedAt: iso(cell.p), attempts: cell.a, hintsUsed: cell.h, solutionRevealed: cell.r,
          ...(cls.endsAt !== null && cell.p !== null && cell.p > cls.endsAt ? { late: true } : {}),
          ...(ev ? { evidence: { recordedAt: iso(ev.recordedAt), checks: ev.checks } } : {}),
        };
      }),
      gradedScores: scores(row.learner).filter((s) => cls.lessons.includes(s.lesson)),
      };
    }),
  };
}
