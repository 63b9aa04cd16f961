/**
 * Catches Markdown that renders literally. CommonMark closes `**bold**` only when
 * the closing `**` is not both preceded by punctuation and followed by a letter:
 * so `**가상 머신(VM)**은` (Korean particles follow words directly) shows its
 * asterisks. Write `**가상 머신**(VM)은` or `<strong>가상 머신(VM)</strong>은`.
 */
const UNCLOSED_STRONG = /\*\*[^*\n]*?\p{P}\*\*(?=[\p{L}\p{N}])/gu;

export interface LintProblem {
  line: number;
  text: string;
}

/** Problems in an MDX text, skipping fenced code blocks and inline code. */
export function lintMarkdown(mdx: string): LintProblem[] {
  const problems: LintProblem[] = [];
  let fenced = false;
  mdx.split('\n').forEach((line, i) => {
    if (/^\s*```/.test(line)) {
      fenced = !fenced;
      return;
    }
    if (fenced) return;
    const prose = line.replace(/`[^`]*`/g, (code) => ' '.repeat(code.length));
    for (const m of prose.matchAll(UNCLOSED_STRONG)) problems.push({ line: i + 1, text: line.slice(m.index, m.index + m[0].length + 2) });
  });
  return problems;
}
