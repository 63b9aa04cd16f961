/**
 * Author-written exercise text (titles, hints, success notes) may mark code
 * with backticks. This splits it into plain and code runs, so the page can
 * build text nodes and <code> elements without ever parsing HTML.
 */
export interface TextRun {
  code: boolean;
  text: string;
}

export function splitInlineCode(text: string): TextRun[] {
  const runs: TextRun[] = [];
  const parts = text.split('`');
  // An odd number of backticks leaves the last one unmatched: keep it as text.
  const unmatched = parts.length % 2 === 0;
  parts.forEach((part, i) => {
    const last = i === parts.length - 1;
    let code = i % 2 === 1;
    let value = part;
    if (unmatched && last && code) {
      code = false;
      value = `\`${part}`;
    }
    if (!value) return;
    const prev = runs[runs.length - 1];
    if (prev && prev.code === code) prev.text += value;
    else runs.push({ code, text: value });
  });
  return runs;
}
