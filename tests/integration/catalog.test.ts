/**
 * Compatibility of the lesson image catalog: each image is pulled by its Docker Hub
 * name inside a learner's sandbox (from Berth's registry, no internet) and run the way
 * its official documentation shows; the test asserts the documented behaviour.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { newLearner, startTestBerth, type TestBerth } from '../helpers/berth.ts';
import { TestTerminal } from '../helpers/terminal-client.ts';
import { CATALOG } from '../../scripts/lib/images.ts';

describe('lesson image catalog: behaves like the official images', () => {
  let berth: TestBerth;
  let term: TestTerminal;
  let sandbox: string;

  /** Runs a bash script in the sandbox as the learner; fails the test on a non-zero exit unless allowed. */
  async function sh(script: string, opts: { timeoutMs?: number; allowFail?: boolean } = {}): Promise<{ code: number | null; out: string }> {
    const r = await berth.runtime.exec(sandbox, ['bash', '-c', script], opts.timeoutMs ?? 120_000);
    const out = r.stdout + r.stderr;
    if (!opts.allowFail) assert.equal(r.exitCode, 0, `script failed (${r.exitCode}${r.timedOut ? ', timed out' : ''}):\n${script}\n---\n${out}`);
    return { code: r.exitCode, out };
  }

  /** Polls a command in the sandbox until it succeeds. */
  async function until(script: string, what: string, timeoutMs = 60_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      const r = await sh(script, { allowFail: true, timeoutMs: 15_000 });
      if (r.code === 0) return r.out;
      last = r.out;
      await new Promise((res) => setTimeout(res, 500));
    }
    throw new Error(`timed out waiting for ${what}; last output:\n${last}`);
  }

  before(async () => {
    berth = await startTestBerth();
    term = new TestTerminal(berth.origin, { cookie: await newLearner(berth) });
    await term.waitForState('ready', 90_000);
    const [sb] = await berth.runtime.listSandboxes();
    sandbox = sb!.id;
  });
  after(async () => {
    term?.close();
    await berth?.destroy();
  });

  test('every catalog image carries OCI labels saying what it is and that Berth built it', async () => {
    for (const image of CATALOG) {
      const name = image.push[0]!.replace(/^library\//, '');
      const { out } = await sh(`docker pull -q ${name} >/dev/null && docker image inspect --format '{{json .Config.Labels}}' ${name}`);
      const labels = JSON.parse(out.trim()) as Record<string, string>;
      assert.equal(labels['org.opencontainers.image.vendor'], 'Berth', `${name}: vendor`);
      assert.ok(labels['org.opencontainers.image.title'], `${name}: title`);
      assert.match(labels['org.opencontainers.image.description'] ?? '', /Berth|Debian/, `${name}: description`);
    }
  });

  test('nginx answers on port 80 with its welcome page, serves a mounted html dir, logs to stdout, stops on SIGQUIT', async () => {
    const meta = await sh(`docker image inspect --format '{{json .Config.Cmd}} {{json .Config.ExposedPorts}} {{.Config.StopSignal}}' nginx`);
    assert.match(meta.out, /\["nginx","-g","daemon off;"\] \{"80\/tcp":\{\}\} SIGQUIT/);
    await sh('docker run -d --name web -p 8080:80 nginx');
    const page = await until('curl -sf http://localhost:8080/', 'nginx on 8080');
    assert.match(page, /<title>Welcome to nginx!<\/title>/);
    const logs = await sh('docker logs web');
    assert.match(logs.out, /"GET \/ HTTP\/1\.1" 200/, 'access log on stdout');
    assert.match(logs.out, /Configuration complete; ready for start up/);

    await sh('mkdir -p ~/site && echo "<h1>my own page</h1>" > ~/site/index.html && docker run -d --name site -p 8081:80 -v ~/site:/usr/share/nginx/html:ro nginx');
    assert.match(await until('curl -sf http://localhost:8081/', 'nginx on 8081'), /my own page/);

    const stopped = await sh('time (docker stop web site >/dev/null) 2>&1; docker inspect --format "{{.State.ExitCode}}" web site');
    assert.match(stopped.out, /real\s+0m[0-4]\./, 'a graceful stop, not a 10 s kill');
    assert.deepEqual(stopped.out.trim().split('\n').slice(-2), ['0', '0']);
  });

  test('redis answers PING, runs as redis in /data, and keeps data in a volume across recreation', async () => {
    await sh('docker network create redis-net && docker run -d --name cache --network redis-net -v redis-data:/data redis');
    assert.match(await until('docker run --rm --network redis-net redis redis-cli -h cache ping', 'redis PING'), /PONG/);
    await sh('docker run --rm --network redis-net redis redis-cli -h cache set greeting "hello from a volume"');
    const meta = await sh(`docker image inspect --format '{{json .Config.Cmd}} {{json .Config.ExposedPorts}} {{.Config.WorkingDir}} {{json .Config.Volumes}}' redis`);
    assert.match(meta.out, /\["redis-server"\] \{"6379\/tcp":\{\}\} \/data \{"\/data":\{\}\}/);
    // Started as root, the entrypoint hands PID 1 to the redis user (uid 999), as upstream.
    assert.match((await sh("docker exec cache awk '/^Uid:/ {print $2}' /proc/1/status")).out, /^999\s*$/);
    // docker stop sends SIGTERM: redis saves its dump before exiting; a new container finds it.
    await sh('docker stop cache && docker rm cache && docker run -d --name cache --network redis-net -v redis-data:/data redis');
    const got = await until('docker run --rm --network redis-net redis redis-cli -h cache get greeting | grep .', 'the key after recreation');
    assert.match(got, /hello from a volume/);
    assert.match((await sh('docker logs cache')).out, /Ready to accept connections/);
  });

  test('mariadb initialises a database and user from MARIADB_* variables, accepts a client, keeps /var/lib/mysql', async () => {
    await sh([
      'docker network create db-net',
      'docker run -d --name db --network db-net -v db-data:/var/lib/mysql -e MARIADB_ROOT_PASSWORD=rootpw -e MARIADB_DATABASE=shop -e MARIADB_USER=app -e MARIADB_PASSWORD=apppw mariadb',
    ].join(' && '));
    await until('docker exec db healthcheck.sh --connect --innodb_initialized', 'mariadb ready', 120_000);
    const client = 'docker run --rm --network db-net mariadb mariadb -hdb -uapp -papppw shop';
    await sh(`${client} -e "CREATE TABLE items (name VARCHAR(20)); INSERT INTO items VALUES ('kept')"`);
    const who = await sh(`${client} -N -e "SELECT CURRENT_USER(), DATABASE()"`);
    assert.match(who.out, /app@%\s+shop/);
    const root = await sh('docker run --rm --network db-net mariadb mariadb -hdb -uroot -prootpw -N -e "SELECT 1"');
    assert.match(root.out, /^1$/m, 'root connects from another container with the password');
    const denied = await sh('docker run --rm --network db-net mariadb mariadb -hdb -uroot -pwrong -e "SELECT 1"', { allowFail: true });
    assert.notEqual(denied.code, 0);
    assert.match(denied.out, /Access denied/);
    assert.match((await sh('docker logs db 2>&1')).out, /ready for connections/);

    await sh('docker stop db && docker rm db && docker run -d --name db --network db-net -v db-data:/var/lib/mysql mariadb');
    await until('docker exec db healthcheck.sh --connect', 'mariadb restarted on its old data', 120_000);
    assert.match((await sh(`${client} -N -e "SELECT name FROM items"`)).out, /kept/);
    await sh('docker rm -f db');
  });

  test('mariadb healthcheck.sh --connect fails while the entrypoint\'s temporary server runs, as upstream\'s (TCP only)', async () => {
    // An init script holds the temporary server (--skip-networking) up; a healthcheck that
    // passed now would let a readiness loop go on while that server is about to stop.
    await sh('mkdir -p ~/hc-init && echo "sleep 20" > ~/hc-init/wait.sh');
    await sh('docker run -d --name hcdb -e MARIADB_ROOT_PASSWORD=pw -v ~/hc-init:/docker-entrypoint-initdb.d mariadb');
    await until('docker logs hcdb 2>&1 | grep -q "initdb.d/wait.sh"', 'the init script', 120_000);
    const during = await sh('docker exec hcdb healthcheck.sh --connect --innodb_initialized', { allowFail: true });
    assert.notEqual(during.code, 0, `healthy during initialisation:\n${during.out}`);
    await until('docker exec hcdb healthcheck.sh --connect --innodb_initialized', 'the real server', 120_000);
    assert.match((await sh('docker logs hcdb 2>&1')).out, /init process done/);
    await sh('docker rm -f hcdb');
  });

  test('mariadb without a password option refuses to initialise, as the official image does', async () => {
    const r = await sh('docker run --rm mariadb', { allowFail: true, timeoutMs: 60_000 });
    assert.notEqual(r.code, 0);
    assert.match(r.out, /Database is uninitialized and password option is not specified/);
  });

  test('mysql (an alias of the mariadb image) honours MYSQL_* variables and has the mysql client', async () => {
    await sh('docker network create mysql-net && docker run -d --name mysqldb --network mysql-net -e MYSQL_ROOT_PASSWORD=pw -e MYSQL_DATABASE=wordpress -e MYSQL_USER=wp -e MYSQL_PASSWORD=wppw mysql');
    await until('docker exec mysqldb healthcheck.sh --connect', 'mysql ready', 120_000);
    const dbs = await sh('docker run --rm --network mysql-net mysql mysql -hmysqldb -uwp -pwppw -N -e "SHOW DATABASES"');
    assert.match(dbs.out, /^wordpress$/m);
    const meta = await sh(`docker image inspect --format '{{json .Config.ExposedPorts}} {{json .Config.Volumes}}' mysql`);
    assert.match(meta.out, /"3306\/tcp"/);
    assert.match(meta.out, /"\/var\/lib\/mysql"/);
    await sh('docker rm -f mysqldb');
  });

  test('python, debian and busybox run their documented commands', async () => {
    assert.match((await sh('docker run --rm python python -c "import sys; print(sys.version)"')).out, /^3\.13\./m);
    assert.match((await sh('docker run --rm python:3.13-slim pip --version')).out, /pip \d+/);
    assert.match((await sh(`docker image inspect --format '{{json .Config.Cmd}}' python:3.13-slim`)).out, /\["python3"\]/);
    assert.match((await sh('docker run --rm debian:trixie-slim cat /etc/debian_version')).out, /^13\./m);
    assert.match((await sh('docker run --rm debian cat /etc/os-release')).out, /trixie/);
    assert.match((await sh('docker run --rm busybox echo hello from busybox')).out, /hello from busybox/);
    assert.match((await sh(`docker image inspect --format '{{json .Config.Cmd}}' busybox`)).out, /\["sh"\]/);
    assert.match((await sh('docker run --rm busybox sh -c "ls /bin | wc -l"')).out, /^\s*[1-9]\d{2,}\s*$/m, 'the applets are linked');
  });

  test('docker:cli talks to the engine whose socket is mounted, with the official entrypoint, CMD and plugins', async () => {
    const meta = await sh(`docker image inspect --format '{{json .Config.Entrypoint}} {{json .Config.Cmd}}' docker:cli`);
    assert.match(meta.out, /\["docker-entrypoint\.sh"\] \["sh"\]/);
    const sock = '-v /var/run/docker.sock:/var/run/docker.sock';
    await sh('docker run -d --name seen-from-cli busybox sleep 300');
    assert.match((await sh(`docker run --rm ${sock} docker:cli docker ps`)).out, /seen-from-cli/);
    // A docker subcommand as the command gets `docker` put before it, as upstream.
    assert.match((await sh(`docker run --rm ${sock} docker:cli ps --format '{{.Names}}'`)).out, /^seen-from-cli$/m);
    const version = await sh(`docker run --rm ${sock} docker:cli docker version --format '{{.Client.Version}} / {{.Server.Version}}'`);
    assert.match(version.out, /^\d+\.\d+\.\d+\S* \/ \d+\.\d+\.\d+/m, 'client and server versions');
    assert.match((await sh('docker run --rm docker:cli docker compose version')).out, /Docker Compose version v?2\./);
    assert.match((await sh('docker run --rm docker:cli docker buildx version')).out, /buildx/);
    // No socket mounted and no DOCKER_HOST: the entrypoint falls back to a daemon named "docker", as upstream.
    const alone = await sh('docker run --rm docker:cli docker ps', { allowFail: true });
    assert.notEqual(alone.code, 0);
    assert.match(alone.out, /tcp:\/\/docker:2375|docker:2375/);
    // docker:latest is the same image (upstream's latest is dind, which Berth does not have).
    await sh('docker pull -q docker:latest');
    assert.equal((await sh('docker image inspect --format "{{.Id}}" docker:latest')).out, (await sh('docker image inspect --format "{{.Id}}" docker:cli')).out);
    await sh('docker rm -f seen-from-cli');
  });

  test('the lesson web app and redis come up with docker compose, count visits, and keep the count across down/up', async () => {
    await sh(`mkdir -p ~/counter && cat > ~/counter/compose.yaml <<'EOF'
services:
  web:
    image: berth/webapp
    ports:
      - "8000:8000"
    environment:
      REDIS_HOST: redis
    depends_on:
      - redis
  redis:
    image: redis
    volumes:
      - counter-data:/data
volumes:
  counter-data:
EOF`);
    await sh('cd ~/counter && docker compose up -d', { timeoutMs: 180_000 });
    const first = await until(`curl -sf http://localhost:8000/count | grep '"visits": [0-9]'`, 'the web app counting', 60_000);
    const n1 = (JSON.parse(first) as { visits: number }).visits;
    const n2 = (JSON.parse((await sh('curl -sf http://localhost:8000/count')).out) as { visits: number }).visits;
    assert.equal(n2, n1 + 1);
    assert.match((await sh('curl -sf http://localhost:8000/')).out, new RegExp(`viewed ${n2 + 1} times`), 'the page counts too');
    await sh('cd ~/counter && docker compose down', { timeoutMs: 120_000 });
    await sh('cd ~/counter && docker compose up -d', { timeoutMs: 180_000 });
    const again = await until(`curl -sf http://localhost:8000/count | grep '"visits": [0-9]'`, 'the web app after down/up', 60_000);
    assert.equal((JSON.parse(again) as { visits: number }).visits, n2 + 2, 'the count survived docker compose down');
    const stop = await sh('cd ~/counter && time (docker compose down -v >/dev/null 2>&1) 2>&1');
    assert.match(stop.out, /real\s+0m[0-5]\./, 'the web app stops promptly on SIGTERM');
  });

  test('registry:2 is a registry of the learner\'s own: push from the nested engine to localhost:5000, pull back, htpasswd login', async () => {
    const meta = await sh(`docker pull -q registry:2 >/dev/null && docker image inspect --format '{{json .Config.Entrypoint}} {{json .Config.Cmd}} {{json .Config.ExposedPorts}} {{json .Config.Volumes}}' registry:2`);
    assert.match(meta.out, /\["\/entrypoint\.sh"\] \["\/etc\/docker\/registry\/config\.yml"\] \{"5000\/tcp":\{\}\} \{"\/var\/lib\/registry":\{\}\}/);
    await sh('docker pull -q registry:latest >/dev/null');
    assert.equal((await sh('docker image inspect --format "{{.Id}}" registry:latest')).out, (await sh('docker image inspect --format "{{.Id}}" registry:2')).out);

    await sh('docker run -d -p 5000:5000 --name registry registry:2');
    await until('curl -sf http://localhost:5000/v2/', 'the registry on 5000');
    // Plain HTTP to localhost is allowed without any insecure-registries setting (127.0.0.0/8).
    await sh('docker pull -q busybox:1.37 >/dev/null && docker tag busybox:1.37 localhost:5000/tools/busybox:1.37 && docker push localhost:5000/tools/busybox:1.37');
    assert.match((await sh('curl -sf http://localhost:5000/v2/_catalog')).out, /"tools\/busybox"/);
    assert.match((await sh('curl -sf http://localhost:5000/v2/tools/busybox/tags/list')).out, /"1\.37"/);
    const id = (await sh('docker image inspect --format "{{.Id}}" busybox:1.37')).out;
    await sh('docker rmi localhost:5000/tools/busybox:1.37 busybox:1.37 && ! docker image inspect busybox:1.37 >/dev/null 2>&1');
    await sh('docker pull localhost:5000/tools/busybox:1.37');
    assert.equal((await sh('docker image inspect --format "{{.Id}}" localhost:5000/tools/busybox:1.37')).out, id, 'the same image came back');
    // Storage is in the volume at /var/lib/registry, as upstream's.
    const mount = await sh(`docker inspect --format '{{range .Mounts}}{{.Type}} {{.Destination}}{{end}}' registry`);
    assert.match(mount.out, /^volume \/var\/lib\/registry\s*$/);

    // htpasswd (bcrypt) comes with the image; REGISTRY_AUTH* variables switch the login on.
    await sh('mkdir -p ~/auth && docker run --rm --entrypoint htpasswd registry:2 -Bbn learner berth-pass > ~/auth/htpasswd && grep -q "^learner:[$]2y[$]" ~/auth/htpasswd');
    await sh('docker run -d -p 5001:5000 --name private-registry -v ~/auth:/auth -e REGISTRY_AUTH=htpasswd -e REGISTRY_AUTH_HTPASSWD_REALM=Berth -e REGISTRY_AUTH_HTPASSWD_PATH=/auth/htpasswd registry:2');
    await until('[ "$(curl -s -o /dev/null -w "%{http_code}" http://localhost:5001/v2/)" = 401 ]', 'the private registry asking for a login');
    await sh('docker tag localhost:5000/tools/busybox:1.37 localhost:5001/tools/busybox:1.37');
    const refused = await sh('docker push localhost:5001/tools/busybox:1.37', { allowFail: true });
    assert.notEqual(refused.code, 0);
    assert.match(refused.out, /no basic auth credentials/);
    await sh('echo berth-pass | docker login localhost:5001 -u learner --password-stdin && docker push localhost:5001/tools/busybox:1.37');
    assert.match((await sh('curl -sf -u learner:berth-pass http://localhost:5001/v2/tools/busybox/tags/list')).out, /"1\.37"/);
    assert.match((await sh('docker logout localhost:5001 && cat ~/.docker/config.json')).out, /"auths": \{\}/);
    await sh('docker rm -f registry private-registry');
  });
});
