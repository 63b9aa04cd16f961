/**
 * Lesson exercises at build time: every `content/lessons/<slug>/exercises.yaml`
 * is parsed and cross-checked against the lesson's MDX by the server's own
 * loader (sandbox-server/src/exercises/load.ts), so the site and the server
 * agree on what is valid. The content loader (src/content.config.ts) calls
 * `validateLessonExercises` and fails the build with every problem listed;
 * `<Exercise id>` and the lesson and home pages read titles and counts here.
 *
 * Only what the static page may show leaves this module: ids, titles in one
 * language, whether the lesson is graded and how many hints exist. Hints and
 * solutions never reach the static HTML (the server reveals them and records it).
 *
 * No astro:* imports, so it runs under plain `node --test`.
 */
import { join } from 'node:path';
import { loadAllExercises } from '../../sandbox-server/src/exercises/load.ts';
import type { ExerciseFile } from '../../sandbox-server/src/exercises/schema.ts';
import type { Lang } from '../i18n/strings.ts';

export const CONTENT_DIR = 'content';

/** What a lesson page shows about one exercise before the server says more. */
export interface ExerciseInfo {
  id: string;
  /** 1-based position in the lesson's exercise file. */
  number: number;
  title: string;
  hintsTotal: number;
}

export interface LessonExerciseInfo {
  slug: string;
  graded: boolean;
  exercises: ExerciseInfo[];
}

/**
 * Parses and cross-checks every lesson's exercise file under `root/content`.
 * Throws one Error whose message lists each broken file, field and problem.
 */
export function validateLessonExercises(root: string): Map<string, ExerciseFile> {
  try {
    return loadAllExercises(join(root, CONTENT_DIR), root);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new Error(`Lesson exercises are invalid (content/lessons/<lesson>/exercises.yaml and <Exercise id> in the MDX):\n${message}`);
  }
}

/** The page-safe summary of one lesson's exercises in `lang` (empty when it has none). */
export function lessonExerciseInfo(files: Map<string, ExerciseFile>, slug: string, lang: Lang): LessonExerciseInfo {
  const file = files.get(slug);
  if (!file) return { slug, graded: false, exercises: [] };
  return {
    slug,
    graded: file.graded,
    exercises: file.exercises.map((e, i) => ({
      id: e.id,
      number: i + 1,
      title: e.title[lang],
      hintsTotal: file.graded ? 0 : e.hints[lang].length,
    })),
  };
}

/** Reads the exercise files of the project in the current directory (the build's root). */
export function loadLessonExerciseInfo(slug: string, lang: Lang, root = process.cwd()): LessonExerciseInfo {
  return lessonExerciseInfo(validateLessonExercises(root), slug, lang);
}

/** Every lesson's exercise count: `{ slug: total }`, for the home page. */
export function exerciseTotals(root = process.cwd()): Record<string, { total: number; graded: boolean }> {
  const out: Record<string, { total: number; graded: boolean }> = {};
  for (const [slug, file] of validateLessonExercises(root)) out[slug] = { total: file.exercises.length, graded: file.graded };
  return out;
}

/** The lesson folder a page URL belongs to: `/en/lessons/00-welcome/` -> `00-welcome`. */
export function lessonSlugFromPath(pathname: string): string | undefined {
  return /\/lessons\/([^/]+)\/?(?:index\.html)?$/.exec(pathname)?.[1];
}
