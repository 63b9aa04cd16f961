/**
 * The path of a request line, parsed without ever throwing. `new URL(req.url, base)`
 * throws for `//`, `//%` or `/\` (they read as a scheme-relative URL with a bad host),
 * and a throw inside a request or upgrade listener ends the process: every learner's
 * terminal with it. Here the raw target is appended to a fixed origin (so `//x` cannot
 * become a host name), and paths no page of Berth has are refused outright: empty
 * segments (`//`), backslashes, broken percent escapes and control characters.
 */

const BASE = 'http://berth.invalid';
/** Backslashes (URL parsers read them as slashes) and control characters, anywhere in the target. */
const MALFORMED_RAW = /[\\\x00-\x1f\x7f]/;
/** An empty segment, or a % not followed by two hex digits. */
const MALFORMED_PATH = /\/\/|%(?![0-9a-f]{2})/i;

/**
 * The pathname (still percent-encoded, no query) of a request target in origin form
 * (`/path?query`) or absolute form (`http://host/path`, which HTTP/1.1 servers must
 * accept); undefined for anything else (authority form, `*`, garbage).
 */
export function requestPath(target: string | undefined): string | undefined {
  if (!target) return undefined;
  const absolute = /^https?:\/\//i.test(target);
  if (!absolute && target[0] !== '/') return undefined;
  if (MALFORMED_RAW.test(target)) return undefined;
  let path: string;
  try {
    const url = new URL(absolute ? target : BASE + target);
    if (!absolute && url.origin !== BASE) return undefined;
    path = url.pathname;
  } catch {
    return undefined;
  }
  return MALFORMED_PATH.test(path) ? undefined : path;
}
