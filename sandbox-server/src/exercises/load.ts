/**
 * Reads and validates lesson exercise files. Errors name the file, the field and
 * what is wrong, so a broken lesson fails the build (and the server start) clearly.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { z } from 'zod';
import { ExerciseFile, LANGS, type Lang } from './schema.ts';

export const EXERCISE_FILE = 'exercises.yaml';

export class LessonError extends Error {
  override name = 'LessonError';
}

function describeIssues(file: string, error: z.ZodError): string {
  const lines = error.issues.map((issue) => {
    const at = issue.path.length ? issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '') : '(top level)';
    return `  ${at}: ${issue.message}`;
  });
  return `${file}:\n${lines.join('\n')}`;
}

/** Parses one exercise file's text; `file` is used in messages. */
export function parseExerciseFile(textContent: string, file: string): ExerciseFile {
  let data: unknown;
  try {
    data = parseYaml(textContent, { prettyErrors: true });
  } catch (err) {
    const detail = err instanceof YAMLParseError ? err.message : (err as Error).message;
    throw new LessonError(`${file}: not valid YAML: ${detail}`);
  }
  const result = ExerciseFile.safeParse(data);
  if (!result.success) throw new LessonError(describeIssues(file, result.error));
  return result.data;
}

/** Ids named by `<Exercise id="..."/>` (or another component) in an MDX text, in order. */
export function exerciseIdsInMdx(mdx: string, component: 'Exercise' | 'Quiz' = 'Exercise'): string[] {
  return [...mdx.matchAll(new RegExp(`<${component}\\s+[^>]*?\\bid=["']([^"']+)["']`, 'g'))].map((m) => m[1]!);
}

/**
 * Cross-checks a lesson's MDX files against its exercise file: every id an MDX
 * names must exist, and every exercise must appear in every language.
 */
export function crossCheckLesson(dir: string, file: ExerciseFile | undefined, mdxByLang: Partial<Record<Lang, string>>): string[] {
  const problems: string[] = [];
  const kinds = [
    { component: 'Exercise', noun: 'exercise', known: new Set(file?.exercises.map((e) => e.id) ?? []) },
    { component: 'Quiz', noun: 'quiz', known: new Set(file?.quizzes.map((q) => q.id) ?? []) },
  ] as const;
  for (const lang of LANGS) {
    const mdx = mdxByLang[lang];
    if (mdx === undefined) continue;
    for (const { component, noun, known } of kinds) {
      const used = exerciseIdsInMdx(mdx, component);
      for (const id of used) {
        if (!known.has(id)) {
          problems.push(`${join(dir, `${lang}.mdx`)}: <${component} id="${id}"/> names no ${noun} in ${join(dir, EXERCISE_FILE)}${file ? ` (known: ${[...known].join(', ') || 'none'})` : ' (the file is missing)'}`);
        }
      }
      for (const id of known) {
        if (!used.includes(id)) problems.push(`${join(dir, `${lang}.mdx`)}: ${noun} "${id}" is never placed; add <${component} id="${id}"/>`);
      }
    }
  }
  return problems;
}

export interface LessonExercises {
  slug: string;
  file: ExerciseFile;
}

/**
 * Loads every lesson folder's exercise file under `contentDir/lessons`, checked
 * against its MDX. Throws one LessonError listing every problem found.
 */
export function loadAllExercises(contentDir: string, root = process.cwd()): Map<string, ExerciseFile> {
  const lessonsDir = join(contentDir, 'lessons');
  const out = new Map<string, ExerciseFile>();
  const problems: string[] = [];
  if (!existsSync(lessonsDir)) return out;
  for (const slug of readdirSync(lessonsDir).sort()) {
    const dir = join(lessonsDir, slug);
    const rel = relative(root, dir) || dir;
    const exercisePath = join(dir, EXERCISE_FILE);
    let file: ExerciseFile | undefined;
    if (existsSync(exercisePath)) {
      try {
        file = parseExerciseFile(readFileSync(exercisePath, 'utf8'), join(rel, EXERCISE_FILE));
        out.set(slug, file);
      } catch (err) {
        problems.push((err as Error).message);
        continue;
      }
    }
    const mdx: Partial<Record<Lang, string>> = {};
    for (const lang of LANGS) {
      const p = join(dir, `${lang}.mdx`);
      if (existsSync(p)) mdx[lang] = readFileSync(p, 'utf8');
    }
    problems.push(...crossCheckLesson(rel, file, mdx));
  }
  if (problems.length) throw new LessonError(`broken lesson files:\n${problems.join('\n')}`);
  return out;
}
