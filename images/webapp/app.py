"""Berth's web app: counts visits in redis and shows which container answered.

GET /        an HTML page with the visit count
GET /count   the count as JSON
GET /health  200 "ok" (even when redis is down)
Settings: PORT (8000), REDIS_HOST (redis), REDIS_PORT (6379), APP_TITLE.
Only the standard library: a tiny client for the two redis commands it needs.
"""
import html
import json
import os
import signal
import socket
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT = int(os.environ.get("PORT", "8000"))
REDIS_HOST = os.environ.get("REDIS_HOST", "redis")
REDIS_PORT = int(os.environ.get("REDIS_PORT", "6379"))
TITLE = os.environ.get("APP_TITLE", "Hello from Berth's web app!")
HOSTNAME = socket.gethostname()


def redis_command(*args):
    """Send one command in RESP and return the reply (int, str or None)."""
    payload = f"*{len(args)}\r\n" + "".join(f"${len(str(a).encode())}\r\n{a}\r\n" for a in args)
    with socket.create_connection((REDIS_HOST, REDIS_PORT), timeout=2) as conn:
        conn.sendall(payload.encode())
        reply = conn.makefile("rb").readline().decode().rstrip("\r\n")
    kind, rest = reply[:1], reply[1:]
    if kind == ":":
        return int(rest)
    if kind == "+":
        return rest
    if kind == "-":
        raise RuntimeError(rest)
    return None


def count_visit():
    try:
        return redis_command("INCR", "visits"), None
    except (OSError, RuntimeError) as err:
        return None, f"redis at {REDIS_HOST}:{REDIS_PORT} is not reachable ({err})"


class Handler(BaseHTTPRequestHandler):
    server_version = "berth-webapp/1.0"

    def send(self, status, body, content_type):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/health":
            return self.send(200, "ok\n", "text/plain; charset=utf-8")
        visits, problem = count_visit()
        if self.path == "/count":
            return self.send(200, json.dumps({"visits": visits, "host": HOSTNAME, "error": problem}) + "\n", "application/json")
        if self.path != "/":
            return self.send(404, "not found\n", "text/plain; charset=utf-8")
        line = f"This page has been viewed {visits} times." if problem is None else f"No visit counter: {problem}."
        page = (
            "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Berth web app</title></head>\n"
            f"<body><h1>{html.escape(TITLE)}</h1>\n<p>{html.escape(line)}</p>\n"
            f"<p>Served by container {html.escape(HOSTNAME)}.</p></body></html>\n"
        )
        self.send(200, page, "text/html; charset=utf-8")

    def log_message(self, fmt, *args):
        # One line per request on stdout, so `docker logs` shows them.
        print(f"{self.address_string()} - {fmt % args}", flush=True)


def main():
    # As PID 1 in a container, Python would ignore SIGTERM: handle it so `docker stop` is quick.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server = ThreadingHTTPServer(("0.0.0.0", PORT), Handler)
    print(f"berth-webapp listening on port {PORT} (redis: {REDIS_HOST}:{REDIS_PORT})", flush=True)
    try:
        server.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
