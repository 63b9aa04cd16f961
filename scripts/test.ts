/**
 * npm test: type check, build what the tests need (site, images: skipped when
 * current), then every test file in one node:test run so there is one summary.
 * Integration and end-to-end tests use the real engine, sandboxes and Chromium.
 * `npm test -- unit` runs only the unit tests (no engine needed); `-- adversarial`
 * only the attack suite (also `npm run test:adversarial`).
 */
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { buildSite } from './lib/site.ts';
import { log, runNode } from './lib/run.ts';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const only = process.argv[2];
const UNIT = ['sandbox-server/src/**/*.test.ts', 'src/**/*.test.ts', 'scripts/**/*.test.ts'];
const SUITES: Record<string, string[]> = {
  unit: UNIT,
  integration: ['tests/integration/**/*.test.ts'],
  e2e: ['tests/e2e/**/*.test.ts'],
  // Attacks on real sandboxes and the real server: each asserts a safety promise holds.
  adversarial: ['tests/adversarial/**/*.test.ts'],
};
if (only && !SUITES[only]) {
  console.error(`unknown suite "${only}"; use one of: ${Object.keys(SUITES).join(', ')}`);
  process.exit(2);
}
const globs = only ? SUITES[only]! : Object.values(SUITES).flat();

try {
  log('test', 'type checking');
  // astro sync writes the content-collection types (.astro/) that a fresh clone lacks.
  await runNode([join(root, 'node_modules/astro/bin/astro.mjs'), 'sync'], { cwd: root });
  await runNode([join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: root });
  if (only !== 'unit') {
    await buildSite(root);
    await runNode([join(root, 'scripts/images.ts')], { cwd: root });
  }
  log('test', `running ${only ?? 'all'} tests`);
  // One file at a time: integration tests share the engine and the machine's 2 cores.
  await runNode(['--test', '--test-concurrency=1', '--test-reporter=spec', ...globs], { cwd: root });
} catch (err) {
  log('test', (err as Error).message);
  process.exit(1);
}
