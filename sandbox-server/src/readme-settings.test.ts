import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { settingsMarkdown } from './config.ts';

test('the README settings table matches the configuration table', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const start = readme.indexOf('\n', readme.indexOf('<!-- settings:start'));
  const end = readme.indexOf('<!-- settings:end -->');
  assert.ok(start > 0 && end > start, 'README has the settings markers');
  assert.equal(readme.slice(start + 1, end).trim(), settingsMarkdown(), 'regenerate the table: node scripts/config-table.ts');
});
