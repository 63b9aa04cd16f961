/**
 * Instructor accounts for classroom tests, through the real parts: the operator's
 * command (scripts/instructor.ts) for the login link, the HTTP routes for the rest.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TestBerth } from './berth.ts';

const SCRIPT = fileURLToPath(new URL('../../scripts/instructor.ts', import.meta.url));

/** Runs `npm run instructor -- ARGS` against the test server's store; returns its output. */
export function instructorCommand(berth: TestBerth, ...args: string[]): string {
  return execFileSync(process.execPath, [SCRIPT, ...args], {
    env: { ...process.env, BERTH_DATA_DIR: berth.config.dataDir, BERTH_PUBLIC_URL: berth.origin },
    encoding: 'utf8',
  });
}

/** The token of the login link a command printed. */
export function linkToken(output: string): string {
  const m = /\/teach\/setup\/#([A-Za-z0-9_-]+)/.exec(output);
  if (!m) throw new Error(`no login link in: ${output}`);
  return m[1]!;
}

export interface InstructorClient {
  cookie: string;
  csrf: string;
  get(path: string): Promise<Response>;
  post(path: string, body?: unknown): Promise<Response>;
}

/** POSTs as our own page would: Origin, JSON, and the CSRF header when given. */
export function post(berth: TestBerth, path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${berth.origin}${path}`, {
    method: 'POST',
    headers: { Origin: berth.origin, 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

/** Adds an instructor with the command, sets the password through the link, and returns a logged-in client. */
export async function newInstructor(berth: TestBerth, name: string, password = 'a long enough password'): Promise<InstructorClient> {
  const token = linkToken(instructorCommand(berth, 'add', name));
  const res = await post(berth, '/api/teach/setup', { token, password });
  if (res.status !== 200) throw new Error(`setup answered ${res.status}: ${await res.text()}`);
  const { csrf } = (await res.json()) as { csrf: string };
  const cookie = res.headers.get('set-cookie')!.split(';')[0]!;
  return {
    cookie,
    csrf,
    get: (path) => fetch(`${berth.origin}${path}`, { headers: { Cookie: cookie } }),
    post: (path, body = {}) => post(berth, path, body, { Cookie: cookie, 'X-Berth-CSRF': csrf }),
  };
}

/** Reads a Server-Sent Events stream's `data:` messages as they come. */
export async function openStream<T>(url: string, cookie: string) {
  const controller = new AbortController();
  const res = await fetch(url, { headers: { Cookie: cookie }, signal: controller.signal });
  if (res.status !== 200) throw new Error(`${url} answered ${res.status}`);
  if (!/^text\/event-stream/.test(res.headers.get('content-type') ?? '')) throw new Error(`${url} is not an event stream`);
  const messages: T[] = [];
  /** Called on every message: `until` resolves the moment its predicate holds (a benchmark times it). */
  const waiters = new Set<() => void>();
  const reader = res.body!.getReader();
  void (async () => {
    let buffer = '';
    const decoder = new TextDecoder();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += decoder.decode(value, { stream: true });
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = block.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
          if (data) {
            messages.push(JSON.parse(data) as T);
            for (const w of [...waiters]) w();
          }
        }
      }
    } catch {
      // aborted
    }
  })();
  const until = (pred: () => boolean, what: string, ms = 30_000) =>
    new Promise<void>((resolve, reject) => {
      if (pred()) return resolve();
      const check = () => {
        if (!pred()) return;
        clearTimeout(timer);
        waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`timed out waiting for ${what}; got ${JSON.stringify(messages).slice(0, 2000)}`));
      }, ms);
      waiters.add(check);
    });
  return { messages, until, close: () => controller.abort() };
}
