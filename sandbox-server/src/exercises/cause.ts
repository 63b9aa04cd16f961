/**
 * Feedback that names the real cause when the run can see it: a near-miss name
 * ("first_hello" for "first-hello") among the learner's objects, and the last
 * error the shell's `docker` function recorded for a command about the same
 * object. Everything read here is untrusted sandbox text: it is capped, stripped
 * of control characters and shown as plain text.
 */
import { checkTarget, type Extras } from './compile.ts';
import type { Check, Lang } from './schema.ts';

/** Levenshtein distance (names are short: the plain table is fine). */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

/** One line of untrusted text, safe to show: no control characters, at most `max` characters. */
export function plainLine(text: string, max: number): string {
  // Backticks would start a code run where the page renders `code`.
  const line = text.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ').replace(/`/g, "'").trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/**
 * The existing name closest to `wanted`, if it is a plausible slip: same name but
 * for case or `-`/`_`, or within 2 edits (1 for short names). For images, the same
 * repository with another tag counts too. None when `wanted` itself exists.
 */
export function nearMissName(wanted: string, existing: readonly string[], kind: string): string | undefined {
  const names = existing.map((n) => n.trim()).filter((n) => n && n.length <= 200);
  if (names.includes(wanted)) return undefined;
  const fold = (n: string) => n.toLowerCase().replace(/[-_.]/g, '');
  const limit = wanted.length < 6 ? 1 : 2;
  let best: { name: string; d: number } | undefined;
  for (const name of names) {
    if (name.endsWith(':<none>')) continue;
    let d = fold(name) === fold(wanted) ? 0 : editDistance(name, wanted);
    if (kind === 'images' && d > limit && name.split(':')[0] === wanted.split(':')[0]) d = limit;
    if (d <= limit && (!best || d < best.d)) best = { name, d };
  }
  return best?.name;
}

const KIND: Record<string, { ko: string; en: string }> = {
  containers: { ko: '컨테이너', en: 'container' },
  images: { ko: '이미지', en: 'image' },
  volumes: { ko: '볼륨', en: 'volume' },
  networks: { ko: '네트워크', en: 'network' },
};

/** The last failed docker command (line 1, its arguments) and its last error line (line 2). */
export function lastDockerError(text: string | undefined): { command: string; error: string } | undefined {
  if (!text) return undefined;
  const [command = '', error = ''] = text.split('\n');
  const c = plainLine(command, 160);
  const e = plainLine(error, 240);
  return c && e ? { command: c, error: e } : undefined;
}

/** A sentence to add to a failing check's feedback, or undefined when the run saw nothing useful. */
export function causeNote(check: Check, extras: Extras, lang: Lang): string | undefined {
  const target = checkTarget(check);
  if (!target) return undefined;
  const notes: string[] = [];
  const listing = extras[target.kind];
  if (listing !== undefined) {
    const near = nearMissName(target.name, listing.split('\n'), target.kind);
    if (near) {
      const k = KIND[target.kind]!;
      const shown = plainLine(near, 80);
      notes.push(lang === 'ko' ? `${k.ko} 목록에 '${shown}'이(가) 있어요. '${target.name}'을(를) 말하려던 건가요?` : `There is a ${k.en} named '${shown}': did you mean '${target.name}'?`);
    }
  }
  const last = lastDockerError(extras.lasterr);
  // Only an error from a command about this object (its name, or an image's repository).
  const about = target.kind === 'images' ? target.name.replace(/:[^:/]*$/, '') : target.name;
  if (last && last.command.includes(about)) {
    notes.push(lang === 'ko' ? `마지막으로 실패한 \`docker ${last.command}\`에서 Docker가 이렇게 답했어요: ${last.error}` : `Your last failed \`docker ${last.command}\` said: ${last.error}`);
  }
  return notes.length ? notes.join(' ') : undefined;
}
