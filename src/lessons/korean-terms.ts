/**
 * Korean terminology lint for lessons (run by korean-terms.test.ts over every lesson's
 * ko.mdx and the Korean strings of its exercises.yaml): one term per concept, as
 * agreed in issue 13 and the review in shared/reviews/lessons-0-4.md, section 3.
 *
 * Each rule names the preferred term and why. The patterns are narrow on purpose:
 * 계층 (hierarchy), 돌려주다 (give back), 돌아오다 (come back), "~로 돌아가다" (go back
 * to a place) and 이미지 저장소 are correct Korean and must not be flagged. Code blocks
 * and inline code are skipped (markdown-lint.ts's proseLines, the one place for that).
 */
import { isMap, isScalar, isSeq, LineCounter, parseDocument, visit, type Scalar } from 'yaml';
import { blankInlineCode, proseLines } from './markdown-lint.ts';

export interface TermRule {
  name: string;
  pattern: RegExp;
  preferred: string;
  why: string;
}

/** Not preceded by a letter or digit: the match starts a word (Korean words are space-separated). */
const WORD_START = '(?<![\\p{L}\\p{N}])';

export const KOREAN_TERM_RULES: readonly TermRule[] = [
  {
    name: 'layer',
    // 계층 (hierarchy), 심층 (in depth) and 2층 (a floor) are other words.
    pattern: /(?<![계심고저지표\p{N}])층+/gu,
    preferred: '레이어',
    why: 'one word for an image or container layer; 층 and 레이어 mixed read as two things',
  },
  {
    name: 'component',
    pattern: /부품/gu,
    preferred: '구성 요소',
    why: '부품 is a machine part; Docker docs say 구성 요소',
  },
  {
    name: 'run',
    pattern: new RegExp(
      [
        // 돌아가다 "run", but not "~(으)로 돌아가다", going back somewhere.
        `(?<!로\\s+)${WORD_START}돌아(?:가|갈|간|갔)`,
        // 돌다: 돌아요, 돌았어요, 돌고, 돌면, 돌던, 돌지, 돌며, 돌 수 (not 돌아오다 "come back", 돌아보다 "look back").
        `${WORD_START}돌(?:아(?![가갈간갔오와왔온올옴옵보봐봤본볼봄])|았|고|면|던|지|기|며|다|게|죠|겠|\\s+(?:수|때)\\s)`,
        // 도는/돈 as the verb (word-initial, so not 정도는 or 속도는).
        `${WORD_START}(?:도는|돈다?)(?=[\\s.,:;)]|$)`,
        // 돌리다 "run a program", but not 돌려주다/돌려받다 "give/get back", 돌려놓다, 돌려보내다; 되돌리다 is not word-initial.
        `${WORD_START}돌려(?![주줘준줄드받놓놔]|보내|보낸|보낼)`,
        `${WORD_START}돌(?:리|린|릴|립)`,
      ].join('|'),
      'gu',
    ),
    preferred: '실행하다 (실행돼요, 실행 중이에요)',
    why: '돌다/돌리다 for "run" is colloquial; docs say 실행하다',
  },
  {
    name: 'store',
    pattern: /(?<!이미지\s?)저장소/gu,
    preferred: '리포지터리 (이름:태그의 이름), 레지스트리 (Docker Hub 같은 곳), 로컬 이미지 저장소 (엔진 안), 저장 공간 (storage)',
    why: 'bare 저장소 can mean any of these; name the one meant',
  },
  {
    name: 'repository-spelling',
    pattern: new RegExp(`(?!리포지터리)[리레][포파]지[토터]리|${WORD_START}레포(?![트츠지])`, 'gu'),
    preferred: '리포지터리',
    why: 'one spelling for repository',
  },
  {
    name: 'worker',
    pattern: /일꾼/gu,
    preferred: '워커 (워커 프로세스)',
    why: 'nginx and Docker docs call these worker processes: 워커',
  },
];

export interface TermProblem {
  /** 1-based line in the file. */
  line: number;
  /** The match with a little text either side. */
  text: string;
  rule: TermRule;
}

const CONTEXT = 12;

/**
 * Problems in one line of prose. `prose` is `text` with code blanked out (same
 * length); matches are found in `prose` and shown from `text`.
 */
export function lintKoreanLine(text: string, line: number, prose = blankInlineCode(text)): TermProblem[] {
  const problems: TermProblem[] = [];
  for (const rule of KOREAN_TERM_RULES) {
    for (const m of prose.matchAll(rule.pattern)) {
      const start = Math.max(0, m.index - CONTEXT);
      const end = Math.min(text.length, m.index + m[0].length + CONTEXT);
      problems.push({ line, text: text.slice(start, end).trim(), rule });
    }
  }
  return problems;
}

/** Problems in a Korean MDX lesson, skipping fenced code blocks and inline code. */
export function lintKoreanMdx(mdx: string): TermProblem[] {
  return proseLines(mdx).flatMap(({ line, text, prose }) => lintKoreanLine(text, line, prose));
}

export interface KoreanString {
  /** 1-based line where the string (or, in a block scalar, this line of it) is. */
  line: number;
  text: string;
}

/**
 * Every Korean string in an exercises.yaml: the value (a string, or a list of
 * strings for hints) of each `ko:` key, split into lines.
 */
export function koreanYamlStrings(yamlText: string): KoreanString[] {
  const lineCounter = new LineCounter();
  const doc = parseDocument(yamlText, { lineCounter });
  const out: KoreanString[] = [];
  const add = (node: unknown) => {
    if (!isScalar(node) || typeof node.value !== 'string' || !node.range) return;
    const block = node.type === 'BLOCK_LITERAL' || node.type === 'BLOCK_FOLDED';
    const first = lineCounter.linePos(node.range[0]).line + (block ? 1 : 0);
    (node as Scalar<string>).value.split('\n').forEach((text, i) => {
      // Only a literal block keeps one value line per source line; a folded or quoted string is reported at its first line.
      if (text) out.push({ line: node.type === 'BLOCK_LITERAL' ? first + i : first, text });
    });
  };
  visit(doc, {
    Pair(_, pair) {
      if (!isScalar(pair.key) || pair.key.value !== 'ko') return;
      if (isSeq(pair.value)) pair.value.items.forEach(add);
      else if (!isMap(pair.value)) add(pair.value);
    },
  });
  return out;
}

/** Problems in the Korean strings of an exercises.yaml (inline code skipped). */
export function lintKoreanExercises(yamlText: string): TermProblem[] {
  return koreanYamlStrings(yamlText).flatMap(({ line, text }) => lintKoreanLine(text, line));
}
