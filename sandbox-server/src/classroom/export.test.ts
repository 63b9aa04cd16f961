import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { GridColumn, GridRow } from '../protocol.ts';
import type { ClassRow } from './classes.ts';
import { classCsv, classJson, csvField } from './export.ts';

test('CSV fields: formulas are defused, separators quoted', () => {
  assert.equal(csvField('=1+1'), "'=1+1");
  assert.equal(csvField('+82 10'), "'+82 10");
  assert.equal(csvField('-5'), "'-5");
  assert.equal(csvField('@SUM(A1)'), "'@SUM(A1)");
  assert.equal(csvField('\t=x'), "'\t=x");
  assert.equal(csvField('=HYPERLINK("a,b")'), '"\'=HYPERLINK(""a,b"")"');
  assert.equal(csvField('a\nb'), '"a\nb"');
  assert.equal(csvField('김민수'), '김민수');
  assert.equal(csvField(-1), '-1', 'numbers we write are numbers');
});

test('the CSV is a Canvas gradebook: BOM, fixed columns, points possible, a score per lesson', () => {
  const cls = { name: 'Class, A', lessons: ['l1', 'l2'] } as ClassRow;
  const columns: GridColumn[] = [
    { lesson: 'l1', id: 'a', title: { ko: '', en: '' } },
    { lesson: 'l1', id: 'b', title: { ko: '', en: '' } },
    { lesson: 'l2', id: 'c', title: { ko: '', en: '' } },
  ];
  const cell = (s: 'passed' | 'pending') => ({ s, h: 0, a: 0, r: false, p: null });
  const rows = [{ learner: 'abcdef0123456789', name: '민수', cells: [cell('passed'), cell('pending'), cell('passed')] }] as GridRow[];
  const csv = classCsv(cls, columns, rows);
  assert.ok(csv.startsWith('\uFEFF'));
  assert.deepEqual(csv.slice(1).split('\r\n'), [
    'Student,ID,SIS User ID,SIS Login ID,Section,l1,l2',
    '    Points Possible,,,,,2,1',
    '민수,abcdef01,,,"Class, A",1,1',
    '',
  ]);
});

test('the JSON carries each graded pass\'s evidence, and a pass after the class ended is marked late, not dropped', () => {
  const endsAt = Date.parse('2026-12-01T12:00:00Z');
  const cls = { name: 'A', code: 'ABC234', lessons: ['l9'], startsAt: endsAt - 3_600_000, endsAt, createdAt: endsAt - 7_200_000, endedAt: null } as unknown as ClassRow;
  const columns: GridColumn[] = [
    { lesson: 'l9', id: 'app', title: { ko: '', en: '' } },
    { lesson: 'l9', id: 'db', title: { ko: '', en: '' } },
  ];
  const rows = [{ learner: 'abcdef0123456789', name: 'Ada', joinedAt: endsAt - 3_000_000, cells: [{ s: 'passed', h: 0, a: 1, r: false, p: endsAt - 60_000 }, { s: 'passed', h: 0, a: 2, r: false, p: endsAt + 60_000 }] }] as unknown as GridRow[];
  const evidence = [{ lesson: 'l9', exercise: 'app', recordedAt: endsAt - 60_000, checks: [{ type: 'http', observed: 'HTTP/1.1 200 OK' }] }];
  const out = classJson(cls, columns, rows, () => [], (learner) => (learner === 'abcdef0123456789' ? evidence : [])) as { learners: { exercises: Record<string, unknown>[] }[] };
  const [app, db] = out.learners[0]!.exercises;
  assert.deepEqual(app!.evidence, { recordedAt: new Date(endsAt - 60_000).toISOString(), checks: [{ type: 'http', observed: 'HTTP/1.1 200 OK' }] });
  assert.equal(app!.late, undefined, 'in time');
  assert.equal(db!.late, true, 'passed after the end: kept, marked late');
  assert.equal(db!.status, 'passed');
  assert.equal(db!.evidence, undefined);
});
