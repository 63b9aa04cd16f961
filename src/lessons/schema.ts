/**
 * Frontmatter of a lesson page: `content/lessons/<NN-slug>/<lang>.mdx`.
 *
 * Plain zod (not `astro/zod`) so the schema runs under `node --test` too; Astro
 * accepts any zod 4 schema. Every field is described; unknown fields are
 * errors, so a typo fails the build instead of being silently ignored.
 */
import { z } from 'zod';

export const lessonFrontmatter = z
  .object({
    title: z
      .string()
      .trim()
      .min(1)
      .max(80)
      .describe('Lesson title, shown as the page heading, in the home list and in the tab title.'),
    description: z
      .string()
      .trim()
      .min(1)
      .max(200)
      .describe('One sentence about what the learner does in this lesson; shown under the title in the home list and as the meta description.'),
    order: z
      .number()
      .int()
      .min(0)
      .max(99)
      .describe('Position in the course, starting at 0. Must equal the NN prefix of the lesson folder and be the same in every language.'),
    goals: z
      .array(z.string().trim().min(1).max(160))
      .min(1)
      .max(8)
      .describe('What the learner can do at the end, one short line each; shown in a box at the top of the lesson.'),
    minutes: z
      .number()
      .int()
      .min(1)
      .max(240)
      .optional()
      .describe('Rough time the lesson takes, in minutes; shown next to the title.'),
  })
  .strict()
  .describe('Frontmatter of one language version of a lesson.');

export type LessonFrontmatter = z.infer<typeof lessonFrontmatter>;

/** Turn zod issues into one line per problem, each naming the field. */
export function describeIssues(error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    if (issue.code === 'unrecognized_keys') {
      return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')} (allowed: ${Object.keys(lessonFrontmatter.shape).join(', ')})`;
    }
    const field = issue.path.length ? issue.path.join('.') : '(frontmatter)';
    const missing = issue.code === 'invalid_type' && issue.input === undefined;
    return missing ? `"${field}" is required` : `"${field}": ${issue.message}`;
  });
}

export type FrontmatterResult =
  | { ok: true; value: LessonFrontmatter }
  | { ok: false; error: string };

/** Validate frontmatter from `file`; the error message names the file and every bad field. */
export function parseLessonFrontmatter(data: unknown, file: string): FrontmatterResult {
  const result = lessonFrontmatter.safeParse(data);
  if (result.success) return { ok: true, value: result.data };
  const lines = describeIssues(result.error);
  return { ok: false, error: `Invalid lesson frontmatter in ${file}:\n  - ${lines.join('\n  - ')}` };
}
