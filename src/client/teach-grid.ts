/**
 * The class grid's pure parts (the page is src/components/teach/TeachClass.astro):
 * ordering, filtering and totals over the rows the server streams.
 */
import type { GridRow } from '../../sandbox-server/src/protocol.ts';

export type GridSort = 'stuck' | 'name' | 'progress';
export type GridFilter = 'all' | 'stuck' | 'done';

/** How long a learner has been on their current exercise (ms), or -1 when done. */
export const stuckFor = (row: GridRow, now: number): number => (row.current < 0 || row.since === null ? -1 : Math.max(0, now - row.since));

/** "Stuck": on an exercise that is failing, or for more than `minutes` on one. */
export function isStuck(row: GridRow, now: number, minutes = 10): boolean {
  if (row.current < 0) return false;
  return row.cells[row.current]!.s === 'failing' || stuckFor(row, now) >= minutes * 60_000;
}

export function arrange(rows: GridRow[], sort: GridSort, filter: GridFilter, now: number): GridRow[] {
  const shown = rows.filter((r) => (filter === 'all' ? true : filter === 'done' ? r.current < 0 : isStuck(r, now)));
  const byName = (a: GridRow, b: GridRow) => a.name.localeCompare(b.name) || a.learner.localeCompare(b.learner);
  const compare: Record<GridSort, (a: GridRow, b: GridRow) => number> = {
    stuck: (a, b) => stuckFor(b, now) - stuckFor(a, now) || byName(a, b),
    name: byName,
    progress: (a, b) => b.passed - a.passed || byName(a, b),
  };
  return shown.sort(compare[sort]);
}

/** Per column: how many passed it, and how many are on it now (stuck there). */
export function columnTotals(rows: GridRow[], columns: number): { passed: number[]; current: number[] } {
  const passed = Array<number>(columns).fill(0);
  const current = Array<number>(columns).fill(0);
  for (const row of rows) {
    row.cells.forEach((c, i) => {
      if (c.s === 'passed') passed[i]!++;
    });
    if (row.current >= 0) current[row.current]!++;
  }
  return { passed, current };
}
