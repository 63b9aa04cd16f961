/** Writes a throwaway content tree with lessons for tests (real files, real loader). */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseExerciseFile } from '../../sandbox-server/src/exercises/load.ts';

/** Each lesson's MDX (both languages) places every exercise and quiz of its YAML. */
export function writeLessons(lessons: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'berth-content-'));
  for (const [slug, yaml] of Object.entries(lessons)) {
    const dir = join(root, 'lessons', slug);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'exercises.yaml'), yaml);
    const file = parseExerciseFile(yaml, `${slug}/exercises.yaml`);
    const mdx = [...file.exercises.map((e) => `<Exercise id="${e.id}"/>`), ...file.quizzes.map((q) => `<Quiz id="${q.id}"/>`)].join('\n');
    writeFileSync(join(dir, 'ko.mdx'), mdx);
    writeFileSync(join(dir, 'en.mdx'), mdx);
  }
  return root;
}

/** A one-exercise lesson for tests that need a lesson, not what it teaches: `id` writes "berth" to ~/note.txt. */
export function noteLesson(id = 'make-note'): string {
  return `
exercises:
  - id: ${id}
    title: { ko: 메모, en: A note }
    checks:
      - type: file_contains
        path: note.txt
        contains: berth
    solution: echo berth > ~/note.txt
    near_miss: "true"
`;
}
