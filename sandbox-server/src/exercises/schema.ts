/**
 * The exercise file of a lesson (`content/lessons/<slug>/exercises.yaml`): one
 * language-neutral file with ids, setup, checks and reference solutions, plus
 * the text each language shows. Validated by the site build and by the server.
 */
import { z } from 'zod';

export const LANGS = ['ko', 'en'] as const;
export type Lang = (typeof LANGS)[number];

/** A text in every language: `{ ko: ..., en: ... }`. */
export const Localized = z
  .object({ ko: z.string().min(1).describe('Korean text'), en: z.string().min(1).describe('English text') })
  .strict()
  .describe('The same text in Korean and English');
export type Localized = z.infer<typeof Localized>;

const name = z.string().min(1).max(200).regex(/^[^\s'"`$\\]+$/, 'no spaces, quotes, $ or backslashes');
const path = z.string().min(1).max(500).regex(/^[^'"`$\\\n]+$/, 'no quotes, $, backslashes or newlines');
const text = z.string().min(1).max(500).regex(/^[^\n]+$/, 'one line');
const port = z.number().int().min(1).max(65535);

/** Built-in checks: each is a typed helper the server turns into a shell test. */
export const BuiltinCheck = z.discriminatedUnion('type', [
  z.object({ type: z.literal('container_exists').describe('A container with this name exists (any state).'), name }).strict(),
  z.object({ type: z.literal('container_running').describe('A container with this name is running.'), name }).strict(),
  z
    .object({
      type: z.literal('container_exited').describe('A container with this name exists and has stopped.'),
      name,
    })
    .strict(),
  z
    .object({
      type: z.literal('container_uses_image').describe('The container was created from this image (repository[:tag]).'),
      name,
      image: name,
    })
    .strict(),
  z
    .object({
      type: z.literal('container_publishes_port').describe('The container publishes a container port, optionally on a given host port.'),
      name,
      container_port: port,
      host_port: port.optional(),
    })
    .strict(),
  z
    .object({
      type: z.literal('container_has_env').describe('The container has an environment variable, optionally with a value.'),
      name,
      variable: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/),
      value: text.optional(),
    })
    .strict(),
  z
    .object({
      type: z.literal('container_has_mount').describe('The container has a mount at this path, optionally of this volume name or host path.'),
      name,
      destination: path,
      source: path.optional(),
    })
    .strict(),
  z
    .object({ type: z.literal('container_on_network').describe('The container is attached to this network.'), name, network: name })
    .strict(),
  z
    .object({
      type: z.literal('container_count').describe('How many containers exist (all states), at least `min` and at most `max`.'),
      min: z.number().int().min(0).optional(),
      max: z.number().int().min(0).optional(),
      running_only: z.boolean().optional(),
    })
    .strict(),
  z.object({ type: z.literal('image_exists').describe('An image with this reference exists.'), image: name }).strict(),
  z.object({ type: z.literal('image_absent').describe('No image with this reference exists.'), image: name }).strict(),
  z
    .object({
      type: z.literal('image_has_label').describe('The image has a label, optionally with a value.'),
      image: name,
      key: name,
      value: text.optional(),
    })
    .strict(),
  z
    .object({ type: z.literal('image_size_under').describe('The image is smaller than this many megabytes.'), image: name, mb: z.number().positive() })
    .strict(),
  z
    .object({
      type: z.literal('dockerfile_stages').describe('A Dockerfile in the sandbox has at least this many FROM stages.'),
      path,
      min: z.number().int().min(1),
    })
    .strict(),
  z.object({ type: z.literal('volume_exists').describe('A volume with this name exists.'), name }).strict(),
  z
    .object({
      type: z.literal('volume_contains').describe('A file exists in the volume, optionally containing a text.'),
      volume: name,
      path,
      contains: text.optional(),
    })
    .strict(),
  z.object({ type: z.literal('network_exists').describe('A network with this name exists.'), name }).strict(),
  z
    .object({ type: z.literal('network_has_container').describe('The network has this container attached.'), network: name, container: name })
    .strict(),
  z
    .object({
      type: z.literal('containers_resolve').describe('Container `from` resolves container `to` by name (user-defined network DNS).'),
      from: name,
      to: name,
    })
    .strict(),
  z
    .object({
      type: z.literal('http').describe('An HTTP GET to localhost:port in the sandbox answers with this status and/or contains a text.'),
      port,
      path: z.string().regex(/^\/[^\s'"`$\\]*$/).default('/'),
      status: z.number().int().min(100).max(599).optional(),
      contains: text.optional(),
    })
    .strict(),
  z.object({ type: z.literal('file_exists').describe('A file exists in the sandbox (relative paths start at the home directory).'), path }).strict(),
  z
    .object({ type: z.literal('file_contains').describe('A file in the sandbox contains a text.'), path, contains: text })
    .strict(),
  z
    .object({
      type: z.literal('command_ran').describe('The learner ran a command matching this extended regular expression (from shell history).'),
      pattern: text,
    })
    .strict(),
]);
export type BuiltinCheck = z.infer<typeof BuiltinCheck>;

export const ScriptCheck = z
  .object({
    type: z.literal('script').describe('A bash script run in the sandbox: exit 0 passes; its last output line is shown as feedback.'),
    run: z
      .string()
      .min(1)
      .max(4000)
      // Checks reach the engine through `docker` (or $DOCKER_HOST), which the engine proxy
      // verifies; a socket path named here would bypass it (exercises/compile.ts).
      .refine((run) => !/docker\.sock|DOCKER_HOST\s*=|--host\b|\s-H\s+unix:/.test(run), {
        message: 'a check script reaches the engine only through `docker` or "$DOCKER_HOST" (the verified engine), never a socket path or another host',
      })
      .describe('Bash; `~` is the learner\'s home. Reach the engine with `docker` or `curl --unix-socket "${DOCKER_HOST#unix://}"`.'),
  })
  .strict();

export type Check = (BuiltinCheck | z.infer<typeof ScriptCheck>) & { feedback?: Localized };
const feedback = Localized.optional().describe('What to tell the learner when this check fails.');
/** Any check, with optional feedback; one discriminated union so errors name the allowed types. */
export const Check = z.discriminatedUnion('type', [
  ...BuiltinCheck.options.map((option) => option.extend({ feedback })),
  ScriptCheck.extend({ feedback }),
] as unknown as [typeof ScriptCheck, typeof ScriptCheck]) as unknown as z.ZodType<Check>;
export const Exercise = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/).describe('Stable id, used by <Exercise id="..."/> in both MDX files and in progress.'),
    title: Localized.describe('The task, as one short sentence.'),
    setup: z.string().max(4000).optional().describe('Shell run in the sandbox when the lesson opens (idempotent: it may run again).'),
    checks: z.array(Check).min(1).max(20).describe('All must pass for the exercise to pass.'),
    hints: z
      .object({ ko: z.array(z.string().min(1)).max(5), en: z.array(z.string().min(1)).max(5) })
      .strict()
      .default({ ko: [], en: [] })
      .refine((h) => h.ko.length === h.en.length, 'hints need the same count in ko and en')
      .describe('Hints, shown one at a time (the same number in each language).'),
    solution: z.string().min(1).max(4000).describe('Reference solution (shell). The verifier runs it; learners may reveal it.'),
    near_miss: z
      .string()
      .min(1)
      .max(4000)
      .describe('A plausible wrong answer (shell): the verifier runs it after setup in a fresh sandbox and at least one check must fail.'),
    success: Localized.optional().describe('A short note shown when the exercise passes.'),
  })
  .strict();
export type Exercise = z.infer<typeof Exercise>;

export const QuizQuestion = z
  .object({
    prompt: Localized.describe('The question.'),
    choices: z.array(Localized).min(2).max(6).describe('The choices, shown in this order.'),
    answer: z
      .union([z.number().int().min(0), z.array(z.number().int().min(0)).min(1)])
      .describe('Index of the correct choice, or a list of indexes when several are correct (checkboxes).'),
    explanation: Localized.describe('Why the answer is right; shown after the learner answers.'),
  })
  .strict()
  .refine((q) => (Array.isArray(q.answer) ? q.answer : [q.answer]).every((a) => a < q.choices.length), {
    message: 'answer points past the last choice',
    path: ['answer'],
  });
export type QuizQuestion = z.infer<typeof QuizQuestion>;

export const Quiz = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/).describe('Stable id, used by <Quiz id="..."/> in both MDX files and in progress.'),
    title: Localized.describe('What the quiz is about.'),
    questions: z.array(QuizQuestion).min(1).max(20).describe('Checked by the server; answers never reach the page before it replies.'),
    submissions: z
      .number()
      .int()
      .min(1)
      .max(10)
      .optional()
      .describe('Graded lessons: how many times the quiz can be submitted (default 1); the last submission counts, and results show only after it.'),
  })
  .strict();
export type Quiz = z.infer<typeof Quiz>;

export const ExerciseFile = z
  .object({
    graded: z.boolean().default(false).describe('Graded: no hints or solutions; the result is recorded as a score.'),
    reveal_solution_after: z
      .number()
      .int()
      .min(0)
      .max(20)
      .default(2)
      .describe('The solution can be revealed after this many hints used or failed attempts.'),
    exercises: z.array(Exercise).max(30).default([]).describe('The lesson\'s exercises, in the order the page lists them.'),
    quizzes: z.array(Quiz).max(10).default([]).describe('Multiple-choice quizzes, checked by the server.'),
  })
  .strict()
  .superRefine((file, ctx) => {
    if (file.exercises.length + file.quizzes.length === 0) ctx.addIssue({ code: 'custom', path: ['exercises'], message: 'a lesson file needs at least one exercise or quiz' });
    const seen = new Set<string>();
    const unique = (id: string, path: (string | number)[]) => {
      if (seen.has(id)) ctx.addIssue({ code: 'custom', path, message: `duplicate id "${id}"` });
      seen.add(id);
    };
    file.exercises.forEach((e, i) => unique(e.id, ['exercises', i, 'id']));
    file.quizzes.forEach((q, i) => unique(q.id, ['quizzes', i, 'id']));
  });
export type ExerciseFile = z.infer<typeof ExerciseFile>;
