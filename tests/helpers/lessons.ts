/** Writes a throwaway content tree with lessons for tests (real files, real loader). */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function writeLessons(lessons: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'berth-content-'));
  for (const [slug, yaml] of Object.entries(lessons)) {
    const dir = join(root, 'lessons', slug);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'exercises.yaml'), yaml);
    const ids = [...yaml.matchAll(/^\s+- id: (\S+)/gm)].map((m) => m[1]);
    const mdx = ids.map((id) => `<Exercise id="${id}"/>`).join('\n');
    writeFileSync(join(dir, 'ko.mdx'), mdx);
    writeFileSync(join(dir, 'en.mdx'), mdx);
  }
  return root;
}
