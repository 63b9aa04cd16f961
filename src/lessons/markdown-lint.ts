/**
 * Lesson MDX checks (run by markdown-lint.test.ts over every lesson).
 *
 * Catches Markdown that renders literally. CommonMark closes `**bold**` only when
 * the closing `**` is not both preceded by punctuation and followed by a letter:
 * so `**가상 머신(VM)**은` (Korean particles follow words directly) shows its
 * asterisks. Write `**가상 머신**(VM)은` or `<strong>가상 머신(VM)</strong>은`.
 */
const UNCLOSED_STRONG = /\*\*[^*\n]*?\p{P}\*\*(?=[\p{L}\p{N}])/gu;

/**
 * A typographic dash right before a Latin letter, after a space or punctuation:
 * "–name" where a flag `--name` was meant (a typographer's dash, pasted or made by
 * smart punctuation, which astro.config.mjs turns off). A dash between two words
 * ("word—word") is fine.
 */
const DASHED_FLAG = /(?<![\p{L}\p{N}])[–—][A-Za-z]/gu;

export interface LintProblem {
  line: number;
  text: string;
}

/** `text` with each inline code span (`…`) blanked out to spaces, so offsets still match the original. */
export function blankInlineCode(text: string): string {
  return text.replace(/`[^`\n]*`/g, (code) => ' '.repeat(code.length));
}

export interface ProseLine {
  /** 1-based line number. */
  line: number;
  /** The line as written. */
  text: string;
  /** The same line with inline code blanked out (same length, so match offsets index `text`). */
  prose: string;
}

/** The lines of an MDX text outside fenced code blocks, each with its inline code blanked out. */
export function proseLines(mdx: string): ProseLine[] {
  const lines: ProseLine[] = [];
  let fenced = false;
  mdx.split('\n').forEach((text, i) => {
    if (/^\s*```/.test(text)) {
      fenced = !fenced;
      return;
    }
    if (!fenced) lines.push({ line: i + 1, text, prose: blankInlineCode(text) });
  });
  return lines;
}

/** Problems in an MDX text, skipping fenced code blocks and inline code. */
export function lintMarkdown(mdx: string): LintProblem[] {
  const problems: LintProblem[] = [];
  for (const { line, text, prose } of proseLines(mdx)) {
    for (const m of prose.matchAll(UNCLOSED_STRONG)) problems.push({ line, text: text.slice(m.index, m.index + m[0].length + 2) });
    for (const m of prose.matchAll(DASHED_FLAG)) problems.push({ line, text: text.slice(m.index, m.index + m[0].length + 8) });
  }
  return problems;
}

export interface LessonLink {
  line: number;
  /** The lesson folder the link names, e.g. `05-volumes`. */
  slug: string;
  href: string;
}

/** Links to lesson pages (`/lessons/<slug>/`, `/en/lessons/<slug>/`) in an MDX text: Markdown links and href attributes. */
export function lessonLinks(mdx: string): LessonLink[] {
  const links: LessonLink[] = [];
  mdx.split('\n').forEach((line, i) => {
    for (const m of line.matchAll(/(?:\]\(|href=["'{`]*)((?:\/en)?\/lessons\/([^/)\s"'#?]*)[^)\s"']*)/g)) {
      links.push({ line: i + 1, slug: m[2] ?? '', href: m[1] ?? '' });
    }
  });
  return links;
}
