/**
 * The instructor pages' calls to /api/teach/* and /api/join/*: JSON both ways, the
 * session's CSRF token on every POST (see sandbox-server/src/classroom/sessions.ts).
 */
export const CSRF_HEADER = 'X-Berth-CSRF';

let csrf: string | undefined;
export function setCsrf(token: string | undefined): void {
  csrf = token;
}

export type Answer<T> = { ok: true; status: number; body: T } | { ok: false; status: number; error: string };

export async function call<T>(method: 'GET' | 'POST', url: string, body?: unknown): Promise<Answer<T>> {
  let res: Response;
  try {
    const headers: Record<string, string> = {};
    if (method === 'POST') headers['Content-Type'] = 'application/json';
    if (method === 'POST' && csrf) headers[CSRF_HEADER] = csrf;
    res = await fetch(url, { method, headers, body: method === 'POST' ? JSON.stringify(body ?? {}) : undefined, credentials: 'same-origin' });
  } catch {
    return { ok: false, status: 0, error: '' };
  }
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!res.ok) return { ok: false, status: res.status, error: (parsed as { error?: string } | undefined)?.error ?? `HTTP ${res.status}` };
  return { ok: true, status: res.status, body: parsed as T };
}

/** The signed-in instructor (and the CSRF token), or undefined when not logged in. */
export async function whoAmI(): Promise<{ name: string } | undefined> {
  const me = await call<{ name: string; csrf: string }>('GET', '/api/teach/me');
  if (!me.ok) return undefined;
  setCsrf(me.body.csrf);
  return me.body;
}
