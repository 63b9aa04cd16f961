import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { GridCell, GridRow } from '../../sandbox-server/src/protocol.ts';
import { arrange, columnTotals, isStuck } from './teach-grid.ts';

const cell = (s: GridCell['s']): GridCell => ({ s, h: 0, a: 0, r: false, p: s === 'passed' ? 1 : null });
const row = (name: string, states: GridCell['s'][], since: number | null): GridRow => {
  const current = states.findIndex((s) => s !== 'passed');
  return { learner: name, name, joinedAt: 0, checking: false, cells: states.map(cell), passed: states.filter((s) => s === 'passed').length, current, since: current < 0 ? null : since };
};

const now = 60 * 60_000;
const rows = [row('ana', ['passed', 'pending'], now - 2 * 60_000), row('bo', ['failing', 'pending'], now - 30 * 60_000), row('cy', ['passed', 'passed'], null), row('di', ['pending', 'pending'], now - 12 * 60_000)];

test('stuck longest first; finished learners last', () => {
  assert.deepEqual(arrange(rows, 'stuck', 'all', now).map((r) => r.name), ['bo', 'di', 'ana', 'cy']);
});

test('filters: stuck (failing, or long on one) and done', () => {
  assert.deepEqual(arrange(rows, 'name', 'stuck', now).map((r) => r.name), ['bo', 'di']);
  assert.deepEqual(arrange(rows, 'name', 'done', now).map((r) => r.name), ['cy']);
  assert.equal(isStuck(rows[0]!, now), false);
  assert.deepEqual(arrange(rows, 'progress', 'all', now).map((r) => r.name), ['cy', 'ana', 'bo', 'di']);
});

test('totals per column: passed, and where learners are now', () => {
  assert.deepEqual(columnTotals(rows, 2), { passed: [2, 1], current: [2, 1] });
});
