/**
 * The classroom's routes (declared: see routes-dispatch.ts). /api/teach/* is the
 * instructor's (login, classes, grid, exports); /api/join/* is the learner's.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type { Logger } from '../log.ts';
import { RateLimiter } from '../rate-limit.ts';
import { type Accounts, MAX_PASSWORD } from './accounts.ts';
import type { Sessions } from './sessions.ts';
import { type Route, createRouter, route } from './routes-dispatch.ts';

export interface ClassroomDeps {
  accounts: Accounts;
  sessions: Sessions;
  isAllowedOrigin: (origin: string | undefined) => boolean;
  clientAddress: (req: IncomingMessage) => string;
  log: Logger;
  /** More routes (classes, grid, join), declared the same way. */
  routes?: Route[];
}

/** Login guesses: per address and per account name, so neither many names nor many addresses help much. */
export const LOGIN_RATE = { perAddress: { perSecond: 30 / 60, burst: 30 }, perAccount: { perSecond: 5 / 60, burst: 10 } };

const credentials = z.object({ name: z.string().min(1).max(64), password: z.string().min(1).max(MAX_PASSWORD) });

export function accountRoutes(deps: Pick<ClassroomDeps, 'accounts' | 'sessions'>): Route[] {
  const { accounts, sessions } = deps;
  const byAddress = new RateLimiter(LOGIN_RATE.perAddress);
  const byAccount = new RateLimiter(LOGIN_RATE.perAccount);
  const loggedIn = (instructor: { id: string; name: string }) => {
    const { setCookie, csrf } = sessions.create(instructor.id);
    return { status: 200, body: { name: instructor.name, csrf }, headers: { 'Set-Cookie': setCookie } };
  };
  return [
    route({
      method: 'POST',
      path: '/api/teach/setup',
      auth: 'public',
      body: z.object({ token: z.string().min(10).max(100), password: z.string().max(MAX_PASSWORD) }),
      limits: [{ limiter: byAddress, what: 'login attempts from your address' }],
      async handle({ body }) {
        const instructor = await accounts.useLink(body.token, body.password);
        if (!instructor) return { status: 400, body: { error: 'this login link is used, expired or unknown, or the password is too short: ask the operator for a new link' } };
        return loggedIn(instructor);
      },
    }),
    route({
      method: 'POST',
      path: '/api/teach/login',
      auth: 'public',
      body: credentials,
      limits: [
        { limiter: byAddress, what: 'login attempts from your address' },
        { limiter: byAccount, key: (ctx) => `name:${ctx.body.name}`, what: 'login attempts for this account' },
      ],
      async handle({ body }) {
        const instructor = await accounts.verify(body.name, body.password);
        if (!instructor) return { status: 401, body: { error: 'wrong name or password' } };
        return loggedIn(instructor);
      },
    }),
    route({
      method: 'POST',
      path: '/api/teach/logout',
      auth: 'instructor',
      handle: ({ req }) => ({ status: 204, headers: { 'Set-Cookie': sessions.end(req) } }),
    }),
    route({
      method: 'GET',
      path: '/api/teach/me',
      auth: 'instructor',
      handle: ({ req, instructor }) => ({ status: 200, body: { name: instructor.name, csrf: sessions.csrfOf(req) } }),
    }),
  ];
}

export function createClassroomHandler(deps: ClassroomDeps): (req: IncomingMessage, res: ServerResponse, path: string) => boolean {
  return createRouter([...accountRoutes(deps), ...(deps.routes ?? [])], {
    isAllowedOrigin: deps.isAllowedOrigin,
    clientAddress: deps.clientAddress,
    instructorOf: (req) => deps.sessions.instructorOf(req),
    csrfValid: (req) => deps.sessions.csrfValid(req),
    onError: (err) => deps.log.error({ err }, 'classroom request failed'),
  });
}
