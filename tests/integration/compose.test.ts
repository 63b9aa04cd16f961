/**
 * Docker Compose in a sandbox, the way the docs show it: a project with `build:` (FROM
 * a catalog image), `depends_on` with `condition: service_healthy`, a named volume and
 * a published port reached from the learner's shell; then ps, logs -f, exec, down and
 * down -v; and two projects up at once.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startWithSandbox, type OneSandbox } from '../helpers/berth.ts';
import { TestTerminal } from '../helpers/terminal-client.ts';

/** A web app that asks Redis at start (and exits if it is not there yet) and counts hits in it. */
const APP = String.raw`import http.server, signal, socket, sys

# PID 1 gets no default SIGTERM action: without this, docker compose down waits 10 s.
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

def redis(command):
    with socket.create_connection(("cache", 6379), timeout=5) as s:
        s.sendall(command.encode() + b"\r\n")
        return s.recv(100).decode().strip()

print("cache says", redis("PING"), flush=True)

class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = ("hits=" + redis("INCR hits").lstrip(":") + "\n").encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        print("served", self.path, flush=True)

http.server.HTTPServer(("", 8000), Handler).serve_forever()
`;

const SHOP = `services:
  web:
    build: .
    ports:
      - "8080:8000"
    depends_on:
      cache:
        condition: service_healthy
  cache:
    image: redis:8
    # Slow to come up: without the health condition, web would start first and exit.
    command: ["sh", "-c", "sleep 3 && exec docker-entrypoint.sh redis-server --appendonly yes"]
    healthcheck:
      test: ["CMD", "redis-cli", "ping"]
      interval: 1s
      timeout: 3s
      retries: 60
    volumes:
      - data:/data
volumes:
  data:
`;

const DOCKERFILE = `FROM python:3.13-slim
WORKDIR /app
COPY app.py .
CMD ["python", "-u", "app.py"]
`;

const BLOG = `services:
  web:
    image: nginx:1
    ports:
      - "8081:80"
    depends_on:
      db:
        condition: service_healthy
  db:
    image: mariadb:11
    environment:
      MARIADB_ROOT_PASSWORD: example
    healthcheck:
      test: ["CMD", "healthcheck.sh", "--connect", "--innodb_initialized"]
      interval: 2s
      timeout: 5s
      retries: 60
    volumes:
      - db:/var/lib/mysql
volumes:
  db:
`;

/** curl as a learner would, retrying while a service that was just started comes up. */
const CURL = 'curl -s --retry 30 --retry-all-errors --retry-delay 1';

/** A here-document that writes `text` to `path` verbatim. */
function writeFile(path: string, text: string): string {
  return `cat > ${path} <<'BERTH_EOF'\n${text}BERTH_EOF\n`;
}

describe('docker compose in a sandbox', () => {
  let one: OneSandbox;
  let term: TestTerminal;
  const sh = (script: string, timeoutMs?: number) => one.sh(script, timeoutMs);

  before(async () => {
    one = await startWithSandbox();
    ({ term } = one);
    const files = await sh(`set -e; mkdir -p ~/shop ~/blog\n${writeFile('~/shop/compose.yaml', SHOP)}${writeFile('~/shop/Dockerfile', DOCKERFILE)}${writeFile('~/shop/app.py', APP)}${writeFile('~/blog/compose.yaml', BLOG)}`);
    assert.equal(files.code, 0, files.out);
  });
  after(async () => {
    await one?.close();
  });

  test('up -d builds FROM a catalog image, waits for the healthy cache, and publishes the port', async () => {
    const up = await sh('cd ~/shop && docker compose up -d 2>&1', 600_000);
    assert.equal(up.code, 0, up.out);
    assert.match(up.out, /Container shop-cache-1\s+Healthy/);
    assert.match(up.out, /Container shop-web-1\s+Started/);
    assert.equal((await sh('docker image inspect -f ok shop-web')).out.trim(), 'ok', 'compose built the image');
    // web asked the cache at start: it is up only because it waited for the health check.
    assert.match((await sh('cd ~/shop && docker compose logs web')).out, /cache says \+PONG/);
    assert.match((await sh(`${CURL} localhost:8080`)).out, /^hits=1$/m);
    assert.match((await sh(`${CURL} localhost:8080`)).out, /^hits=2$/m);
  });

  test('ps lists both services running, the cache healthy', async () => {
    const ps = await sh(`cd ~/shop && docker compose ps --format '{{.Service}} {{.State}} {{.Health}}'`);
    assert.equal(ps.code, 0, ps.out);
    assert.match(ps.out, /^cache running healthy$/m);
    assert.match(ps.out, /^web running\s*$/m);
    const table = await sh('cd ~/shop && docker compose ps');
    assert.match(table.out, /shop-web-1 .*0\.0\.0\.0:8080->8000\/tcp/);
  });

  test('logs -f follows new lines until stopped', async () => {
    const r = await sh('cd ~/shop && (sleep 2; curl -s localhost:8080 >/dev/null) & cd ~/shop && timeout 6 docker compose logs -f web; echo "status $?"', 30_000);
    assert.match(r.out, /status 124/, 'still following when timeout stopped it');
    assert.equal(r.out.match(/served \//g)?.length, 3, `the request made while following shows up:\n${r.out}`);
  });

  test('exec runs a command in a service, in the terminal as the docs type it', async () => {
    const out = await term.run('cd ~/shop && docker compose exec cache redis-cli get hits', 60_000);
    assert.match(out, /"3"/);
  });

  test('two projects run at once, each on its own network, both ports answer', async () => {
    const up = await sh('cd ~/blog && docker compose up -d 2>&1', 600_000);
    assert.equal(up.code, 0, up.out);
    assert.match(up.out, /Container blog-db-1\s+Healthy/);
    assert.match((await sh(`${CURL} localhost:8081`)).out, /Welcome to nginx/);
    assert.match((await sh(`${CURL} localhost:8080`)).out, /^hits=4$/m);
    const ls = await sh(`docker compose ls --format json`);
    const projects = (JSON.parse(ls.out) as { Name: string; Status: string }[]).map((p) => `${p.Name} ${p.Status}`).sort();
    assert.deepEqual(projects, ['blog running(2)', 'shop running(2)']);
    const db = await sh('cd ~/blog && docker compose exec -T db mariadb -uroot -pexample -N -e "select 40 + 2"');
    assert.match(db.out, /^42$/m);
    const nets = await sh(`docker network ls --format '{{.Name}}'`);
    assert.match(nets.out, /^blog_default$/m);
    assert.match(nets.out, /^shop_default$/m);
    const down = await sh('cd ~/blog && docker compose down 2>&1');
    assert.equal(down.code, 0, down.out);
    assert.match((await sh(`${CURL} localhost:8080`)).out, /^hits=5$/m, 'the other project kept running');
  });

  test('down removes containers and network but keeps the volume; down -v removes it too', async () => {
    const down = await sh('cd ~/shop && docker compose down 2>&1');
    assert.equal(down.code, 0, down.out);
    const left = await sh(`docker ps -a --format '{{.Names}}'; docker network ls --format '{{.Name}}'; docker volume ls --format '{{.Name}}'`);
    assert.doesNotMatch(left.out, /shop-web-1|shop-cache-1|shop_default/);
    assert.match(left.out, /^shop_data$/m);
    // The count lives on in the volume.
    const again = await sh(`cd ~/shop && docker compose up -d 2>&1 && ${CURL} localhost:8080`, 300_000);
    assert.equal(again.code, 0, again.out);
    assert.match(again.out, /^hits=6$/m);
    const downV = await sh('cd ~/shop && docker compose down -v 2>&1');
    assert.equal(downV.code, 0, downV.out);
    assert.match(downV.out, /Volume shop_data\s+Removed/);
    const gone = await sh(`docker volume ls --format '{{.Name}}'; docker ps -aq | wc -l`);
    assert.doesNotMatch(gone.out, /^shop_data$/m);
    assert.match(gone.out, /^0$/m);
  });
});
