/**
 * Lesson exercises at build time: every `content/lessons/<slug>/exercises.yaml`
 * is parsed and cross-checked against the lesson's MDX by the server's own
 * loader (sandbox-server/src/exercises/load.ts), so the site and the server
 * agree on what is valid. The content loader (src/content.config.ts) calls
 * `validateLessonExercises` and fails the build with every problem listed;
 * `<Exercise id>` and the lesson and home pages read titles and counts here.
 *
 * Only what the static page may show leaves this module: ids, titles in one
 * language, whether the lesson is graded and how many hints exist; for quizzes,
 * the prompts and choices and whether a question takes several answers. Hints,
 * solutions, quiz answers and explanations never reach the static HTML (the
 * server reveals them and records it).
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

/** One quiz question as the page shows it before answering: never which choices are right. */
export interface QuizQuestionInfo {
  prompt: string;
  choices: string[];
  /** Several choices may be right (checkboxes); otherwise exactly one (radio buttons). */
  multiple: boolean;
}

/** What a lesson page shows about one quiz before the server says more. */
export interface QuizInfo {
  id: string;
  /** 1-based position among the lesson's quizzes. */
  number: number;
  title: string;
  questions: QuizQuestionInfo[];
}

export interface LessonExerciseInfo {
  slug: string;
  graded: boolean;
  exercises: ExerciseInfo[];
  quizzes: QuizInfo[];
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
  if (!file) return { slug, graded: false, exercises: [], quizzes: [] };
  return {
    slug,
    graded: file.graded,
    exercises: file.exercises.map((e, i) => ({
      id: e.id,
      number: i + 1,
      title: e.title[lang],
      hintsTotal: file.graded ? 0 : e.hints[lang].length,
    })),
    // Field by field, so a new field in the schema (an answer, an explanation) cannot slip through.
    quizzes: file.quizzes.map((q, i) => ({
      id: q.id,
      number: i + 1,
      title: q.title[lang],
      questions: q.questions.map((question) => ({
        prompt: question.prompt[lang],
        choices: question.choices.map((c) => c[lang]),
        multiple: Array.isArray(question.answer),
      })),
    })),
  };
}

/** Reads the exercise files of the project in the current directory (the build's root). */
export function loadLessonExerciseInfo(slug: string, lang: Lang, root = process.cwd()): LessonExerciseInfo {
  return lessonExerciseInfo(validateLessonExercises(root), slug, lang);
}

/**
 * Every lesson's task count (exercises and quizzes, as the server's
 * /api/progress counts them): `{ slug: total }`, for the home page.
 */
export function exerciseTotals(root = process.cwd()): Record<string, { total: number; graded: boolean }> {
  const out: Record<string, { total: number; graded: boolean }> = {};
  for (const [slug, file] of validateLessonExercises(root)) out[slug] = { total: file.exercises.length + file.quizzes.length, graded: file.graded };
  return out;
}

/** The lesson folder a page URL belongs to: `/en/lessons/00-welcome/` -> `00-welcome`. */
export function lessonSlugFromPath(pathname: string): string | undefined {
  return /\/lessons\/([^/]+)\/?(?:index\.html)?$/.exec(pathname)?.[1];
}

/**
 * What an <Exercise>/<Quiz> component renders from: its lesson's info in the page's
 * language and the item named by `id`. Throws, naming the MDX file, when the page is
 * not a lesson or the id names nothing.
 */
export function placedItem<K extends 'exercises' | 'quizzes'>(
  pathname: string,
  lang: Lang,
  kind: K,
  id: string,
): { info: LessonExerciseInfo; item: LessonExerciseInfo[K][number] } {
  const component = kind === 'exercises' ? 'Exercise' : 'Quiz';
  const slug = lessonSlugFromPath(pathname);
  if (!slug) throw new Error(`<${component} id="${id}"/> is only for lesson pages (this page is ${pathname})`);
  const info = loadLessonExerciseInfo(slug, lang);
  const items: LessonExerciseInfo[K] = info[kind];
  const item = items.find((i) => i.id === id);
  if (!item) {
    const known = items.map((i) => i.id).join(', ') || 'none';
    throw new Error(`content/lessons/${slug}/${lang}.mdx: <${component} id="${id}"/> names no ${kind === 'exercises' ? 'exercise' : 'quiz'} in content/lessons/${slug}/exercises.yaml (known: ${known})`);
  }
  return { info, item: item as LessonExerciseInfo[K][number] };
}

/** A task in a lesson's list: an exercise card or a quiz. */
export type LessonTask = ({ kind: 'exercise' } & ExerciseInfo) | ({ kind: 'quiz' } & QuizInfo);

/**
 * The lesson's exercises and quizzes in the order the MDX places them
 * (`<Exercise id>` / `<Quiz id>`); anything not found in the text goes last,
 * exercises before quizzes.
 */
export function lessonTasks(info: LessonExerciseInfo, mdx = ''): LessonTask[] {
  const at = new Map<string, number>();
  for (const m of mdx.matchAll(/<(Exercise|Quiz)\s+[^>]*?\bid=["']([^"']+)["']/g)) {
    const key = `${m[1] === 'Quiz' ? 'quiz' : 'exercise'}:${m[2]}`;
    if (!at.has(key)) at.set(key, m.index);
  }
  const tasks: LessonTask[] = [
    ...info.exercises.map((e) => ({ kind: 'exercise' as const, ...e })),
    ...info.quizzes.map((q) => ({ kind: 'quiz' as const, ...q })),
  ];
  const pos = (task: LessonTask) => at.get(`${task.kind}:${task.id}`) ?? Number.MAX_SAFE_INTEGER;
  // Array.prototype.sort is stable: unplaced tasks keep their file order.
  return tasks.sort((a, b) => pos(a) - pos(b));
}
