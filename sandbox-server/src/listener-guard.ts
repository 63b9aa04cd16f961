/**
 * Listeners that never throw. An exception thrown by an `http` request or upgrade
 * listener (or a socket's message listener) reaches the process's top level and
 * ends it, with every learner's terminal. These wrappers answer the one client
 * whose request failed (500, or a closed socket) and log the error instead.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from './log.ts';

type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;
type UpgradeListener = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

export function guardRequest(listener: RequestListener, log: Logger): RequestListener {
  return (req, res) => {
    try {
      listener(req, res);
    } catch (err) {
      log.error({ err, method: req.method }, 'request handler failed');
      if (res.headersSent) return void res.destroy();
      res.writeHead(500, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', Connection: 'close' });
      res.end(JSON.stringify({ error: 'internal error' }));
    }
  };
}

export function guardUpgrade(listener: UpgradeListener, log: Logger): UpgradeListener {
  return (req, socket, head) => {
    try {
      listener(req, socket, head);
    } catch (err) {
      log.error({ err }, 'upgrade handler failed');
      socket.destroy();
    }
  };
}

/** For any other listener: run it, and on a throw log it and call `onError` (e.g. close that one socket). */
export function guarded<A extends unknown[]>(listener: (...args: A) => void, log: Logger, what: string, onError: () => void = () => {}): (...args: A) => void {
  return (...args) => {
    try {
      listener(...args);
    } catch (err) {
      log.error({ err }, `${what} failed`);
      try {
        onError();
      } catch {
        // Closing the failed socket failed too: nothing more to do for it.
      }
    }
  };
}
