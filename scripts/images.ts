/**
 * npm run images: build Berth's images (base, the lesson catalog, sandbox, registry)
 * that are missing or out of date, in order; skip those whose inputs have not changed;
 * then push the catalog tags whose image changed to the local registry's volume.
 *
 *   node scripts/images.ts [--quiet] [--verbose] [--force[=name,...]] [--no-cache]
 *
 * --force alone rebuilds everything (base included) and re-pushes; --force=nginx only
 * that image; --force=catalog re-pushes every catalog tag. --force --no-cache is a
 * cold build (no layer cache, base image included), as on a new machine.
 * Exits 1 with a readable message when no engine answers or a build fails.
 * Other scripts call ensureImages() from ./lib/images.ts directly.
 */
import { parseArgs } from 'node:util';
import { ensureImages, IMAGES, ImagesError } from './lib/images.ts';

const { values } = parseArgs({
  options: {
    quiet: { type: 'boolean', short: 'q', default: false },
    verbose: { type: 'boolean', short: 'v', default: false },
    force: { type: 'string' },
    'no-cache': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
  // `--force` with no value: parseArgs wants a value, so accept it as a boolean below.
  args: process.argv.slice(2).map((a) => (a === '--force' ? '--force=all' : a)),
});

if (values.help) {
  console.log(`usage: node scripts/images.ts [--quiet] [--verbose] [--force[=${['base', ...IMAGES.map((i) => i.name), 'catalog'].join(',')}]] [--no-cache]`);
  process.exit(0);
}

const force = values.force === undefined ? false : values.force === 'all' ? true : values.force.split(',').map((s) => s.trim());

try {
  await ensureImages({ quiet: values.quiet, verbose: values.verbose, force, noCache: values['no-cache'] });
} catch (err) {
  if (err instanceof ImagesError) {
    console.error(`[images] error: ${err.message}`);
    process.exit(1);
  }
  throw err;
}
