/**
 * The learner's progress from `GET /api/progress`:
 *   { lessons: { [slug]: { passed, total, graded, score?: { passed, total } } } }
 * Parsed defensively (an older server, a proxy's error page) and turned into
 * the words the home page and lesson header show. Pure, for `node --test`.
 */
import type { Strings } from '../i18n/strings.ts';

export const PROGRESS_URL = '/api/progress';
export const PROGRESS_EXPORT_URL = '/api/progress/export';
export const PROGRESS_RESET_URL = '/api/progress/reset';
/** Deletes the learner (progress, sandbox) and their cookie. */
export const FORGET_URL = '/api/forget';

export interface LessonProgress {
  passed: number;
  total: number;
  graded: boolean;
  score?: { passed: number; total: number };
}
export type Progress = Record<string, LessonProgress>;

const count = (v: unknown): number | undefined => (typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : undefined);

/** The lessons of a progress response; null when it is not one. Bad entries are skipped. */
export function parseProgress(body: unknown): Progress | null {
  if (!body || typeof body !== 'object') return null;
  const lessons = (body as { lessons?: unknown }).lessons;
  if (!lessons || typeof lessons !== 'object' || Array.isArray(lessons)) return null;
  const out: Progress = {};
  for (const [slug, raw] of Object.entries(lessons as Record<string, unknown>)) {
    if (!raw || typeof raw !== 'object') continue;
    const r = raw as Record<string, unknown>;
    const passed = count(r['passed']);
    const total = count(r['total']);
    if (passed === undefined || total === undefined) continue;
    const entry: LessonProgress = { passed: Math.min(passed, total), total, graded: r['graded'] === true };
    const sc = r['score'] as Record<string, unknown> | undefined;
    const sp = count(sc?.['passed']);
    const st = count(sc?.['total']);
    if (sp !== undefined && st !== undefined) entry.score = { passed: sp, total: st };
    out[slug] = entry;
  }
  return out;
}

export interface BadgeView {
  /** Short text on the badge, e.g. "✓ 3/3", "2/3", "점수 2/3". */
  text: string;
  /** The full sentence for assistive tech. */
  label: string;
  state: 'none' | 'some' | 'done';
}

/**
 * The badge for one lesson. `fallbackTotal` is the exercise count known at
 * build time, used when the server has no record of the lesson yet.
 */
export function lessonBadge(p: LessonProgress | undefined, fallbackTotal: number, s: Strings): BadgeView | null {
  const total = p?.total || fallbackTotal;
  if (!total) return null;
  if (p?.graded && p.score) {
    const { passed, total: t } = p.score;
    return { text: s.progress.score(passed, t), label: s.progress.score(passed, t), state: passed >= t && t > 0 ? 'done' : passed > 0 ? 'some' : 'none' };
  }
  const passed = Math.min(p?.passed ?? 0, total);
  const done = passed >= total;
  return {
    text: done ? `✓ ${passed}/${total}` : `${passed}/${total}`,
    label: s.progress.lesson(passed, total),
    state: done ? 'done' : passed > 0 ? 'some' : 'none',
  };
}

/** One sentence for the whole course: lessons with exercises, known at build time, plus the server's counts. */
export function overallText(progress: Progress, totals: Record<string, number>, s: Strings): string {
  let passed = 0;
  let total = 0;
  const slugs = new Set([...Object.keys(totals), ...Object.keys(progress)]);
  for (const slug of slugs) {
    const p = progress[slug];
    const t = p?.total || totals[slug] || 0;
    total += t;
    passed += Math.min(p?.passed ?? 0, t);
  }
  return passed === 0 ? s.progress.none : s.progress.overall(passed, total);
}

/** Where the learner left off, for the home page's "continue" link. */
export interface ContinueTarget {
  slug: string;
  /** `continue`: the lesson they were in; `next`: the first one they have not finished. */
  kind: 'continue' | 'next';
}

/**
 * The lesson to carry on with: the last one opened, unless all its exercises are
 * done (then the first unfinished lesson after it, else before it); with no
 * lesson opened in this browser, the first unfinished lesson once any progress
 * exists. Nothing for a new learner (the list is the start) or when all is done.
 * `lessons` in course order, each with its exercise count.
 */
export function continueTarget(lessons: readonly { slug: string; total: number }[], progress: Progress, lastOpened: string | undefined): ContinueTarget | undefined {
  const done = (l: { slug: string; total: number }) => {
    const total = progress[l.slug]?.total || l.total;
    return total > 0 && (progress[l.slug]?.passed ?? 0) >= total;
  };
  const at = lessons.findIndex((l) => l.slug === lastOpened);
  if (at >= 0) {
    if (!done(lessons[at]!)) return { slug: lessons[at]!.slug, kind: 'continue' };
    const after = lessons.slice(at + 1).find((l) => !done(l)) ?? lessons.find((l) => !done(l));
    return after ? { slug: after.slug, kind: 'next' } : undefined;
  }
  if (!Object.values(progress).some((p) => p.passed > 0)) return undefined;
  const first = lessons.find((l) => !done(l));
  return first ? { slug: first.slug, kind: 'next' } : undefined;
}
