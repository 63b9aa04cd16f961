/**
 * Build-time checks across lesson files: every lesson folder has one MDX file
 * per language, folders are named `NN-slug`, and `order` matches `NN`.
 * Pure functions over paths, so they run under `node --test`; the content
 * loader in src/content.config.ts calls them and fails the build.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const LESSON_LANGS = ['ko', 'en'] as const;
export type LessonLang = (typeof LESSON_LANGS)[number];
const LANG_NAMES: Record<LessonLang, string> = { ko: 'Korean', en: 'English' };

export const LESSON_FOLDER = /^(\d{2})-([a-z0-9]+(?:-[a-z0-9]+)*)$/;

/** Lesson folders under `root` and the `.mdx` files in each (other files, such as exercises, are ignored). */
export function listLessonFiles(root: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const name of readdirSync(root).sort()) {
    const dir = join(root, name);
    if (!statSync(dir).isDirectory()) continue;
    out.set(
      name,
      readdirSync(dir)
        .filter((f) => f.endsWith('.mdx') || f.endsWith('.md'))
        .sort(),
    );
  }
  return out;
}

/**
 * Problems with the lesson tree; empty when it is fine. `rootLabel` is how
 * paths are shown (e.g. `content/lessons`), so messages name real files.
 */
export function checkLessonTree(tree: Map<string, string[]>, rootLabel = 'content/lessons'): string[] {
  const errors: string[] = [];
  for (const [folder, files] of tree) {
    if (!LESSON_FOLDER.test(folder)) {
      errors.push(`${rootLabel}/${folder}: a lesson folder must be named NN-slug (two digits, a dash, lowercase words), e.g. 03-images`);
    }
    for (const file of files) {
      const lang = file.replace(/\.mdx?$/, '');
      if (!file.endsWith('.mdx') || !(LESSON_LANGS as readonly string[]).includes(lang)) {
        errors.push(`${rootLabel}/${folder}/${file}: unexpected lesson file; expected ${LESSON_LANGS.map((l) => `${l}.mdx`).join(' and ')}`);
      }
    }
    const present = LESSON_LANGS.filter((l) => files.includes(`${l}.mdx`));
    if (present.length === 0) {
      errors.push(`${rootLabel}/${folder}: no lesson files; add ${LESSON_LANGS.map((l) => `${l}.mdx`).join(' and ')}`);
      continue;
    }
    for (const lang of LESSON_LANGS) {
      if (present.includes(lang)) continue;
      const have = present.map((l) => `${rootLabel}/${folder}/${l}.mdx`).join(', ');
      errors.push(
        `${have} has no ${LANG_NAMES[lang]} version: add ${rootLabel}/${folder}/${lang}.mdx (every lesson must exist in ${LESSON_LANGS.map((l) => LANG_NAMES[l]).join(' and ')})`,
      );
    }
  }
  return errors;
}

/** `order` in frontmatter must equal the folder's NN and agree across languages. */
export function checkLessonOrder(
  entries: { folder: string; lang: string; order: number }[],
  rootLabel = 'content/lessons',
): string[] {
  const errors: string[] = [];
  for (const e of entries) {
    const m = LESSON_FOLDER.exec(e.folder);
    if (!m) continue;
    const nn = Number(m[1]);
    if (e.order !== nn) {
      errors.push(`${rootLabel}/${e.folder}/${e.lang}.mdx: "order" is ${e.order} but the folder says ${nn}; make them equal`);
    }
  }
  const seen = new Map<number, string>();
  for (const e of entries) {
    const other = seen.get(e.order);
    if (other !== undefined && other !== e.folder) {
      errors.push(`${rootLabel}/${e.folder}/${e.lang}.mdx: "order" ${e.order} is also used by ${rootLabel}/${other}`);
    }
    seen.set(e.order, e.folder);
  }
  return errors;
}
