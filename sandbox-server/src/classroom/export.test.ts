import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { GridColumn, GridRow } from '../protocol.ts';
import type { ClassRow } from './classes.ts';
import { classCsv, csvField } from './export.ts';

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
