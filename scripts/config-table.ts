/** Rewrites the README's settings table from the configuration table (node scripts/config-table.ts). */
import { readFileSync, writeFileSync } from 'node:fs';
import { settingsMarkdown } from '../sandbox-server/src/config.ts';

const path = new URL('../README.md', import.meta.url);
const readme = readFileSync(path, 'utf8');
const start = readme.indexOf('\n', readme.indexOf('<!-- settings:start')) + 1;
const end = readme.indexOf('<!-- settings:end -->');
if (start <= 0 || end < start) throw new Error('README.md lacks the settings markers');
writeFileSync(path, readme.slice(0, start) + settingsMarkdown() + '\n' + readme.slice(end));
console.log('README settings table updated');
