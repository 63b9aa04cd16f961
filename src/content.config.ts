import { defineCollection } from 'astro:content';
import { glob } from 'astro/loaders';
import type { Loader } from 'astro/loaders';
import { fileURLToPath } from 'node:url';
import { lessonFrontmatter } from './lessons/schema.ts';
import { checkLessonOrder, checkLessonTree, listLessonFiles } from './lessons/pairs.ts';
import { validateLessonExercises } from './lessons/exercises.ts';

const LESSONS_DIR = 'content/lessons';

/**
 * Lessons: `content/lessons/<NN-slug>/<lang>.mdx`, entry id `<NN-slug>/<lang>`.
 * Other files in a lesson folder (exercise definitions) are not part of this
 * collection. Before loading, the tree is checked so that a lesson missing a
 * language, or a misnamed file, fails the build with the file named; so is
 * every `exercises.yaml` and every `<Exercise id>` in the MDX (src/lessons/exercises.ts).
 */
function lessonsLoader(): Loader {
  const inner = glob({
    pattern: '*/*.mdx',
    base: `./${LESSONS_DIR}`,
    generateId: ({ entry }) => entry.replace(/\\/g, '/').replace(/\.mdx$/, ''),
  });
  return {
    name: 'berth-lessons',
    async load(ctx) {
      const root = fileURLToPath(new URL(`${LESSONS_DIR}/`, ctx.config.root));
      const treeErrors = checkLessonTree(listLessonFiles(root), LESSONS_DIR);
      if (treeErrors.length) {
        throw new Error(`Lesson files are incomplete:\n  - ${treeErrors.join('\n  - ')}`);
      }
      // Throws with every broken exercise file, field and MDX reference listed.
      validateLessonExercises(fileURLToPath(ctx.config.root));
      await inner.load(ctx);
      const entries = ctx.store.values().map((e) => {
        const [folder = '', lang = ''] = e.id.split('/');
        return { folder, lang, order: Number(e.data['order']) };
      });
      const orderErrors = checkLessonOrder(entries, LESSONS_DIR);
      if (orderErrors.length) {
        throw new Error(`Lesson order is inconsistent:\n  - ${orderErrors.join('\n  - ')}`);
      }
    },
  };
}

const lessons = defineCollection({
  loader: lessonsLoader(),
  schema: lessonFrontmatter,
});

export const collections = { lessons };
