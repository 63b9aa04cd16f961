/**
 * The info string of a fenced code block in a lesson, after the language:
 *
 *     ```sh run            a command the learner can send to the terminal
 *     ```sh run expect-fail  the command is expected to fail (a test relies on it)
 *     ```sh                 plain: only a Copy button
 *
 * Kept free of Astro and satteri so that it runs under plain `node --test`.
 */
export interface CodeMeta {
  /** Show a Run button that types the command into the terminal. */
  run: boolean;
  /** The command is expected to fail; the page says so beside it. */
  expectFail: boolean;
}

export const KNOWN_META_FLAGS = ['run', 'expect-fail'] as const;

export function parseCodeMeta(meta: string | null | undefined): CodeMeta {
  const tokens = new Set((meta ?? '').trim().split(/\s+/).filter(Boolean));
  return { run: tokens.has('run'), expectFail: tokens.has('expect-fail') };
}

/** One short line for an accessible name: the first command line, trimmed. */
export function summarizeCommand(code: string, max = 80): string {
  const lines = code.replace(/\r\n?/g, '\n').split('\n').map((l) => l.trim()).filter(Boolean);
  let first = lines[0] ?? '';
  const more = lines.length > 1;
  if (first.length > max) first = `${first.slice(0, max - 1)}…`;
  else if (more) first = `${first} …`;
  return first;
}

/** The lesson language of an MDX file, from its name: `ko.mdx` or `en.mdx`. */
export function languageOfFile(path: string | undefined): 'ko' | 'en' {
  return path && /(?:^|[\\/])en\.mdx?$/.test(path) ? 'en' : 'ko';
}
