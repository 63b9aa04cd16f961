/**
 * Turns a lesson's checks into ONE bash script run inside the sandbox, and reads
 * its results back. Each check runs in parallel, in its own bash with a timeout;
 * its code travels base64-encoded, and its output comes back base64-encoded on a
 * single marker line, so nothing a learner's containers print can forge a result.
 */
import type { BuiltinCheck, Check, Exercise } from './schema.ts';

/** Seconds one check may take before it is killed and reported as timed out. */
export const CHECK_TIMEOUT_S = 10;
/**
 * "Keeps running" must hold over a window, not at one instant: a container that
 * exits at once is briefly running, and a check that happens to run then would pass.
 */
export const RUNNING_WINDOW_MS = 2000;
/** A check's exit code for "not yet decided, ask again after the window" (EX_TEMPFAIL). */
export const RECHECK_EXIT = 75;
/** Where the shell's `docker` function keeps the last failed command and its last error line. */
export const LAST_ERROR_FILE = '.berth/last-docker-error';
const MARKER = '@@berth-check';
const EXTRA_MARKER = '@@berth-extra';
/** A graded check's evidence (evidenceScript), at most EVIDENCE_MAX bytes. */
const EVIDENCE_MARKER = '@@berth-evidence';
export const EVIDENCE_MAX = 1000;
/** The engine proxy refused a connection: the run's results say nothing about the real engine. */
const ENGINE_MARKER = '@@berth-engine';
const SANDBOX_HOME = '/home/learner';

/** Quotes a value for bash (single quotes; embedded ones closed and escaped). */
export function shQuote(value: string | number): string {
  return `'${String(value).replace(/'/g, `'\\''`)}'`;
}

/** `nginx` -> `nginx:latest`; a reference with a tag or digest is kept. */
export function normalizeImage(ref: string): string {
  const last = ref.slice(ref.lastIndexOf('/') + 1);
  return last.includes(':') || last.includes('@') ? ref : `${ref}:latest`;
}

const inspect = (name: string, format: string) => `docker container inspect -f ${shQuote(format)} ${shQuote(name)} 2>/dev/null`;

/**
 * Whether container `from` can look up the name `to`, read from the engine's state
 * the way its embedded DNS answers: `docker exec` would fire engine events, which
 * re-trigger the checks without end. A name resolves on a network whose endpoints
 * have DNS names (user-defined networks; the default bridge has none) when a running
 * container on it lists the name (container name, alias, short id), or through a
 * legacy `--link` alias (/etc/hosts). `--network container:<x>` uses x's networks.
 */
function resolveScript(from: string, to: string): string {
  const running = (ref: string) => `[ "$(docker container inspect -f '{{.State.Running}}' ${ref} 2>/dev/null)" = true ]`;
  return `c=${shQuote(from)} to=${shQuote(to)}
mode=$(docker container inspect -f '{{.HostConfig.NetworkMode}}' "$c" 2>/dev/null) || { echo "there is no container named $c"; exit 1; }
${running('"$c"')} || { echo "$c is not running"; exit 1; }
case "$mode" in container:*) c=\${mode#container:} ;; esac
for n in $(docker container inspect -f '{{json .NetworkSettings.Networks}}' "$c" | jq -r 'to_entries[] | select(.value.DNSNames != null) | .key'); do
  for id in $(docker network inspect -f '{{range $id, $e := .Containers}}{{$id}} {{end}}' "$n" 2>/dev/null); do
    docker container inspect -f '{{json .}}' "$id" 2>/dev/null | jq -e --arg n "$n" --arg to "$to" '.State.Running and any((.NetworkSettings.Networks[$n].DNSNames // [])[]; ascii_downcase == ($to | ascii_downcase))' >/dev/null && exit 0
  done
done
for l in $(docker container inspect -f '{{range .HostConfig.Links}}{{.}} {{end}}' "$c"); do
  t=\${l%%:*}
  { [ "\${l##*/}" = "$to" ] || [ "\${t#/}" = "$to" ]; } && ${running('"$t"')} && exit 0
done
echo "$to is not a running container's name or alias on a user-defined network of ${shQuote(from).slice(1, -1)}"
exit 1`;
}

/** The bash test for one built-in check: exit 0 when it holds. */
export function builtinScript(check: BuiltinCheck): string {
  const q = shQuote;
  switch (check.type) {
    case 'container_exists':
      return `${inspect(check.name, '{{.Id}}')} >/dev/null`;
    case 'container_running':
      // Running now, and (re)started at least the window ago; younger is "ask again".
      return [
        `s=$(${inspect(check.name, '{{.State.Running}} {{.State.StartedAt}}')}) || exit 1`,
        '[ "${s%% *}" = true ] || exit 1',
        'up=$(( ($(date +%s%N) - $(date -d "${s#* }" +%s%N)) / 1000000 ))',
        'echo "running for $up ms"',
        `[ "$up" -ge ${RUNNING_WINDOW_MS} ] || exit ${RECHECK_EXIT}`,
      ].join('\n');
    case 'container_exited':
      return `[ "$(${inspect(check.name, '{{.State.Status}}')})" = exited ]`;
    case 'container_uses_image':
      return [
        `img=$(${inspect(check.name, '{{.Config.Image}}')}) || exit 1`,
        `case "\${img##*/}" in *:*|*@*) ;; *) img="$img:latest" ;; esac`,
        `echo "uses $img"`,
        `[ "$img" = ${q(normalizeImage(check.image))} ] || [ "$img" = ${q(`docker.io/library/${normalizeImage(check.image)}`)} ]`,
      ].join('\n');
    case 'container_publishes_port':
      // -p is in HostConfig.PortBindings; -P (publish all exposed ports) only in the running container's NetworkSettings.Ports.
      return `${inspect(check.name, '{{json .HostConfig.PortBindings}} {{json .NetworkSettings.Ports}}')} | jq -s -e --arg p ${q(`${check.container_port}/tcp`)} --arg h ${q(check.host_port ?? '')} 'map((. // {})[$p] // []) | add | map(select($h == "" or .HostPort == $h)) | length > 0' >/dev/null`;
    case 'container_has_env':
      return `${inspect(check.name, '{{json .Config.Env}}')} | jq -e --arg k ${q(check.variable)} --arg v ${q(check.value ?? '')} --arg any ${q(check.value === undefined ? '1' : '')} 'any(.[]; if $any == "1" then startswith($k + "=") else . == ($k + "=" + $v) end)' >/dev/null`;
    case 'container_has_mount':
      return `${inspect(check.name, '{{json .Mounts}}')} | jq -e --arg d ${q(check.destination)} --arg s ${q(check.source ?? '')} 'any(.[]; .Destination == $d and ($s == "" or .Name == $s or .Source == $s))' >/dev/null`;
    case 'container_on_network':
      return `${inspect(check.name, '{{json .NetworkSettings.Networks}}')} | jq -e --arg n ${q(check.network)} 'has($n)' >/dev/null`;
    case 'container_count': {
      const tests = [`n=$(docker ps -q ${check.running_only ? '' : '-a '}| wc -l)`, 'echo "$n containers"'];
      if (check.min !== undefined) tests.push(`[ "$n" -ge ${check.min} ]`);
      if (check.max !== undefined) tests.push(`[ "$n" -le ${check.max} ]`);
      return tests.join(' && ');
    }
    case 'image_exists':
      return `docker image inspect ${q(check.image)} >/dev/null 2>&1`;
    case 'image_absent':
      return `! docker image inspect ${q(check.image)} >/dev/null 2>&1`;
    case 'image_has_label':
      return `docker image inspect -f '{{json .Config.Labels}}' ${q(check.image)} 2>/dev/null | jq -e --arg k ${q(check.key)} --arg v ${q(check.value ?? '')} '(. // {}) | has($k) and ($v == "" or .[$k] == $v)' >/dev/null`;
    case 'image_size_under':
      return `s=$(docker image inspect -f '{{.Size}}' ${q(check.image)} 2>/dev/null) && echo "$((s / 1048576)) MB" && [ "$s" -lt ${Math.floor(check.mb * 1048576)} ]`;
    case 'dockerfile_stages':
      return `n=$(grep -ciE '^[[:space:]]*FROM[[:space:]]' ${q(check.path)} 2>/dev/null) ; echo "$n stages"; [ "\${n:-0}" -ge ${check.min} ]`;
    case 'volume_exists':
      return `docker volume inspect ${q(check.name)} >/dev/null 2>&1`;
    case 'volume_contains': {
      // Rootless: a volume's data lives under the learner's own engine data root.
      const test = check.contains === undefined ? '[ -f "$mp"/' + q(check.path) + ' ]' : `grep -qF -- ${q(check.contains)} "$mp"/${q(check.path)}`;
      return `mp=$(docker volume inspect -f '{{.Mountpoint}}' ${q(check.volume)} 2>/dev/null) && [ -n "$mp" ] && ${test}`;
    }
    case 'network_exists':
      return `docker network inspect ${q(check.name)} >/dev/null 2>&1`;
    case 'network_has_container':
      return `docker network inspect -f '{{json .Containers}}' ${q(check.network)} 2>/dev/null | jq -e --arg c ${q(check.container)} 'any((. // {})[]; .Name == $c)' >/dev/null`;
    case 'containers_resolve':
      return resolveScript(check.from, check.to);
    case 'http': {
      const tests = [
        `out=$(curl -s --max-time 5 -w '\\n%{http_code}' ${q(`http://127.0.0.1:${check.port}${check.path}`)})`,
        'code=${out##*$\'\\n\'}',
        'body=${out%$\'\\n\'*}',
        'echo "HTTP $code"',
      ];
      if (check.status !== undefined) tests.push(`[ "$code" = ${check.status} ]`);
      else tests.push('[ "$code" != 000 ]');
      if (check.contains !== undefined) tests.push(`printf '%s' "$body" | grep -qF -- ${q(check.contains)}`);
      return tests.join(' && ');
    }
    case 'file_exists':
      return `[ -f ${q(check.path)} ]`;
    case 'file_contains':
      return `grep -qF -- ${q(check.contains)} ${q(check.path)} 2>/dev/null`;
    case 'command_ran':
      return `grep -qE -- ${q(check.pattern)} ${SANDBOX_HOME}/.bash_history 2>/dev/null`;
  }
}

/**
 * What a graded check records as evidence beside its verdict: the fields of the
 * engine object it inspected, the HTTP status and the start of the body, a file's
 * digest, the matching history line. A script check's evidence is its own output.
 * One short text; the run caps it.
 */
export function evidenceScript(check: Check): string | undefined {
  const q = shQuote;
  const container = (name: string) =>
    `docker container inspect -f ${q('container {{.Name}}: image {{.Config.Image}} ({{.Image}}), {{.State.Status}}, started {{.State.StartedAt}}, exit code {{.State.ExitCode}}; ports {{json .NetworkSettings.Ports}}; networks {{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}; mounts {{range .Mounts}}{{.Type}} {{if .Name}}{{.Name}}{{else}}{{.Source}}{{end}}:{{.Destination}} {{end}}; env {{len .Config.Env}} variables')} ${q(name)} 2>&1`;
  const file = (path: string) => `f=${q(path)}; if [ -f "$f" ]; then echo "$f: $(stat -c '%s bytes, modified %y' "$f"), sha256 $(sha256sum < "$f" | cut -c1-64)"; else echo "$f: no such file"; fi`;
  switch (check.type) {
    case 'script':
      return undefined; // its output is its evidence
    case 'containers_resolve':
      return container(check.from);
    case 'container_count':
      return "docker ps -a --format '{{.Names}}: {{.Image}}, {{.Status}}' | head -n 20";
    case 'image_absent':
      return `docker image inspect -f ${q('image {{join .RepoTags ","}}: id {{.Id}}')} ${q(check.image)} 2>&1`;
    case 'volume_contains':
      return `mp=$(docker volume inspect -f '{{.Mountpoint}}' ${q(check.volume)} 2>&1) || { echo "$mp"; exit 0; }; echo "volume ${check.volume.replace(/[^A-Za-z0-9_.-]/g, '')}:"; cd "$mp" && ${file(check.path)}`;
    case 'http':
      return `curl -s -i --max-time 5 ${q(`http://127.0.0.1:${check.port}${check.path}`)} 2>&1 | head -c 400`;
    case 'file_exists':
    case 'file_contains':
    case 'dockerfile_stages':
      return file(check.path);
    case 'command_ran':
      return `grep -E -- ${q(check.pattern)} ${SANDBOX_HOME}/.bash_history 2>/dev/null | tail -n 1 | cut -c1-300`;
  }
  // The rest name one engine object: its inspected fields.
  const target = checkTarget(check);
  if (!target) return undefined;
  switch (target.kind) {
    case 'containers':
      return container(target.name);
    case 'images':
      return `docker image inspect -f ${q('image {{join .RepoTags ","}}: id {{.Id}}, {{.Size}} bytes, created {{.Created}}, labels {{json .Config.Labels}}')} ${q(target.name)} 2>&1`;
    case 'volumes':
      return `docker volume inspect -f ${q('volume {{.Name}}: driver {{.Driver}}, created {{.CreatedAt}}')} ${q(target.name)} 2>&1`;
    case 'networks':
      return `docker network inspect -f ${q('network {{.Name}}: driver {{.Driver}}, containers {{range .Containers}}{{.Name}} {{end}}')} ${q(target.name)} 2>&1`;
  }
}

export function checkScript(check: Check): string {
  return check.type === 'script' ? check.run : builtinScript(check);
}

/** What a run lists besides check results, for feedback that names the real cause. */
export type ExtraKey = 'containers' | 'images' | 'volumes' | 'networks' | 'lasterr';
const EXTRA_SCRIPTS: Record<ExtraKey, string> = {
  containers: "docker ps -a --format '{{.Names}}' | head -n 200",
  images: "docker images --format '{{.Repository}}:{{.Tag}}' | head -n 200",
  volumes: 'docker volume ls -q | head -n 200',
  networks: "docker network ls --format '{{.Name}}' | head -n 200",
  lasterr: `head -c 1000 ${LAST_ERROR_FILE} 2>/dev/null`,
};

/** The object a name-based check is about, when it has one. */
export function checkTarget(check: Check): { kind: Exclude<ExtraKey, 'lasterr'>; name: string } | undefined {
  switch (check.type) {
    case 'container_exists':
    case 'container_running':
    case 'container_exited':
    case 'container_uses_image':
    case 'container_publishes_port':
    case 'container_has_env':
    case 'container_has_mount':
    case 'container_on_network':
      return { kind: 'containers', name: check.name };
    case 'image_exists':
    case 'image_has_label':
    case 'image_size_under':
      return { kind: 'images', name: normalizeImage(check.image) };
    case 'volume_exists':
      return { kind: 'volumes', name: check.name };
    case 'volume_contains':
      return { kind: 'volumes', name: check.volume };
    case 'network_exists':
      return { kind: 'networks', name: check.name };
    case 'network_has_container':
      return { kind: 'networks', name: check.network };
    default:
      return undefined;
  }
}

/** The listings a plan needs: one per kind of object its checks name, and the last error. */
export function extrasFor(plan: CheckPlan): ExtraKey[] {
  const kinds = new Set<ExtraKey>();
  for (const e of plan.exercises) for (const c of e.checks) {
    const t = checkTarget(c);
    if (t) kinds.add(t.kind);
  }
  return [...kinds, 'lasterr'];
}

/** Key of check `c` of exercise `e` in a run: "e.c". */
const key = (e: number, c: number) => `${e}.${c}`;

export interface CheckPlan {
  /** The exercises evaluated, in the order of their keys. */
  exercises: Exercise[];
  /** Graded lessons: each check also records its evidence (evidenceScript). */
  evidence?: boolean;
  /** Setup to run first, once per sandbox (marker files make reruns no-ops). */
  setup?: { lesson: string; script: string; marker: string };
}

/** Where the sandbox image keeps the engine proxy (images/sandbox/engine-proxy). */
export const ENGINE_PROXY = '/usr/local/libexec/berth/engine-proxy';
/** The checker's own tmpfs (images/sandbox/berth-init), where its long-lived proxy listens. */
export const CHECKER_DIR = '/run/berth-check';

export interface ScriptOptions {
  /** The learner's home: `~` in check scripts (differs only in unit tests). */
  home?: string;
  /** The engine proxy program (differs only in unit tests). */
  engineProxy?: string;
  /** The checker's own directory (differs only in unit tests). */
  checkerDir?: string;
}

/**
 * A plan's setup as one bash script, run as the learner (it writes their files):
 * each lesson's once per sandbox, a marker file in the learner's home saying it ran.
 */
export function buildSetupScript(plan: CheckPlan): string | undefined {
  if (!plan.setup) return undefined;
  const b64 = Buffer.from(plan.setup.script).toString('base64');
  return [
    '#!/bin/bash',
    "# Generated by Berth: a lesson's setup, once per sandbox.",
    'cd || exit 1',
    'mkdir -p ~/.berth/setup',
    `[ -e ${shQuote(plan.setup.marker)} ] && exit 0`,
    `timeout -k 1 120 bash -c "$(printf %s ${shQuote(b64)} | base64 -d)" >~/.berth/setup/last.log 2>&1 </dev/null && touch ${shQuote(plan.setup.marker)}`,
  ].join('\n') + '\n';
}

/**
 * The whole evaluation as one bash script, run as berth-check (runtime.exec's
 * "checker": a user the learner cannot signal, trace or write to). It reaches the
 * engine only through the engine proxy, which relays to the learner's socket after
 * checking that the engine Berth started listens there; if it refused anything,
 * a marker line says so and no result of the run counts.
 *
 * `~` in a check is the learner's home, but the programs checks run do not get it
 * as $HOME: jq, curl and others read configuration from $HOME (~/.jq is even run as
 * code), and the learner writes those files.
 */
export function buildRunScript(plan: CheckPlan, opts: ScriptOptions = {}): string {
  const home = opts.home ?? SANDBOX_HOME;
  const proxy = opts.engineProxy ?? ENGINE_PROXY;
  const lines = [
    '#!/bin/bash',
    '# Generated by Berth: evaluates a lesson\'s exercise checks.',
    'export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    'unset BASH_ENV ENV CDPATH DOCKER_CONTEXT DOCKER_CERT_PATH DOCKER_TLS_VERIFY XDG_CONFIG_HOME CURL_HOME',
    `berth_home=${shQuote(home)}`,
    // The engine proxy: a long-lived one in the checker's own tmpfs (berth-init mounts
    // it), started by the first run and reused (perl's start-up is most of its cost);
    // else one for this run in a private directory. It says "ready" once it listens.
    // The common path forks nothing before the checks: builtins only.
    'berth_proxy_start() { # socket, refusals file, log',
    `  coproc berth_proxy { exec setsid ${shQuote(proxy)} "$berth_home/.run/docker.sock" "$1" "$2" 2>>"$3"; }`,
    '  local ready; read -r -t 5 -u "${berth_proxy[0]}" ready; [ "$ready" = ready ]',
    '}',
    `berth_pd=${shQuote(opts.checkerDir ?? CHECKER_DIR)}`,
    'if [ -d "$berth_pd" ] && [ -O "$berth_pd" ]; then',
    '  berth_engine=$berth_pd/engine.sock berth_refused=$berth_pd/refused',
    // Never written: the learner's CLI config (aliases, plugins, contexts) must not change what checks see.
    '  export DOCKER_CONFIG=$berth_pd/cli',
    '  read -r berth_pid 2>/dev/null <"$berth_pd/proxy.pid"',
    '  if ! { [ -S "$berth_engine" ] && kill -0 "${berth_pid:-x}" 2>/dev/null; }; then',
    '    exec {berth_lock}>"$berth_pd/lock" && flock "$berth_lock"',
    '    read -r berth_pid 2>/dev/null <"$berth_pd/proxy.pid"',
    '    if ! { [ -S "$berth_engine" ] && kill -0 "${berth_pid:-x}" 2>/dev/null; }; then',
    '      rm -f "$berth_engine"; : >"$berth_refused"',
    '      if berth_proxy_start "$berth_engine" "$berth_refused" "$berth_pd/proxy.log"; then echo "$berth_proxy_PID" >"$berth_pd/proxy.pid"; else echo "the engine proxy did not start" >>"$berth_refused"; fi',
    '    fi',
    '    flock -u "$berth_lock"',
    '  fi',
    'else',
    '  berth_dir=$(mktemp -d) || exit 1',
    '  berth_engine=$berth_dir/engine.sock berth_refused=$berth_dir/refused',
    '  export DOCKER_CONFIG=$berth_dir/cli',
    '  trap \'kill "$berth_proxy_PID" 2>/dev/null; rm -rf "$berth_dir"\' EXIT',
    '  berth_proxy_start "$berth_engine" "$berth_refused" "$berth_dir/proxy.log" || echo "the engine proxy did not start" >>"$berth_refused"',
    'fi',
    'export DOCKER_HOST="unix://$berth_engine"',
    // Refusals during this run: lines the proxy added since now (it starts the file over past 64 KiB).
    'berth_refusals() { local -a l; [ -f "$berth_refused" ] && mapfile -t l <"$berth_refused"; REPLY=${#l[@]}; }',
    'berth_refusals; berth_refused_at=$REPLY',
    'cd "$berth_home" || exit 1',
    'berth_jobs=()',
    'berth_run() { # key, base64 code[, base64 evidence code]',
    `  local out rc`,
    `  out=$(HOME=$berth_home timeout -k 1 ${CHECK_TIMEOUT_S} bash -c "export -n HOME; $(printf %s "$2" | base64 -d)" 2>&1 </dev/null); rc=$?`,
    `  printf '${MARKER} %s %d %s\\n' "$1" "$rc" "$(printf '%s' "$out" | tail -c 2000 | base64 -w0)"`,
    `  [ -n "\${3:-}" ] && printf '${EVIDENCE_MARKER} %s %s\\n' "$1" "$(HOME=$berth_home timeout -k 1 5 bash -c "export -n HOME; $(printf %s "$3" | base64 -d)" 2>&1 </dev/null | head -c ${EVIDENCE_MAX} | base64 -w0)"`,
    '}',
    'berth_extra() { # key, base64 code: a listing, not a check',
    `  printf '${EXTRA_MARKER} %s %s\\n' "$1" "$(HOME=$berth_home timeout -k 1 5 bash -c "export -n HOME; $(printf %s "$2" | base64 -d)" 2>/dev/null </dev/null | head -c 8000 | base64 -w0)"`,
    '}',
  ];
  plan.exercises.forEach((exercise, e) => {
    exercise.checks.forEach((check, c) => {
      const evidence = plan.evidence ? evidenceScript(check) : undefined;
      const args = [checkScript(check), ...(evidence ? [evidence] : [])].map((code) => shQuote(Buffer.from(code).toString('base64')));
      lines.push(`berth_run ${key(e, c)} ${args.join(' ')} & berth_jobs+=($!)`);
    });
  });
  for (const extra of extrasFor(plan)) {
    lines.push(`berth_extra ${extra} ${shQuote(Buffer.from(EXTRA_SCRIPTS[extra]).toString('base64'))} & berth_jobs+=($!)`);
  }
  lines.push(
    'wait "${berth_jobs[@]}"',
    `berth_refusals; [ "$REPLY" != "$berth_refused_at" ] && printf '${ENGINE_MARKER} %s\\n' "$(tail -n 3 "$berth_refused" | head -c 600 | base64 -w0)"`,
    `echo '${MARKER} end'`,
  );
  return lines.join('\n') + '\n';
}

export interface CheckResult {
  exitCode: number | null;
  /** The check's own output (tail), decoded. */
  output: string;
  timedOut: boolean;
  /** The engine proxy refused a connection in this run: the check saw no verified engine. */
  engineUnverified?: boolean;
  /** Graded runs: what the check observed (untrusted sandbox text, capped). */
  evidence?: string;
}

/**
 * Reads marker lines; checks without a line (the run died) come back as null. When
 * the engine proxy refused a connection, every check fails as unverified (its
 * answer may have come from something other than the learner's engine).
 */
export function parseRunOutput(stdout: string, plan: CheckPlan): { results: (CheckResult | null)[][]; complete: boolean; extras: Extras; engineRefused?: string } {
  const byKey = new Map<string, CheckResult>();
  const extras: Extras = {};
  let complete = false;
  let engineRefused: string | undefined;
  const evidence = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    if (line === `${MARKER} end`) complete = true;
    const x = new RegExp(`^${EXTRA_MARKER} ([a-z]+) ([A-Za-z0-9+/=]*)$`).exec(line);
    if (x && x[1]! in EXTRA_SCRIPTS) extras[x[1] as ExtraKey] = Buffer.from(x[2]!, 'base64').toString('utf8');
    const ev = new RegExp(`^${EVIDENCE_MARKER} (\\d+\\.\\d+) ([A-Za-z0-9+/=]*)$`).exec(line);
    if (ev) evidence.set(ev[1]!, Buffer.from(ev[2]!, 'base64').toString('utf8').slice(0, EVIDENCE_MAX));
    const r = new RegExp(`^${ENGINE_MARKER} ([A-Za-z0-9+/=]*)$`).exec(line);
    if (r) engineRefused = Buffer.from(r[1]!, 'base64').toString('utf8').trim().slice(0, 600) || 'refused';
    const m = new RegExp(`^${MARKER} (\\d+\\.\\d+) (\\d+) ([A-Za-z0-9+/=]*)$`).exec(line);
    if (!m) continue;
    const exitCode = Number(m[2]);
    byKey.set(m[1]!, { exitCode, output: Buffer.from(m[3]!, 'base64').toString('utf8'), timedOut: exitCode === 124 || exitCode === 137 });
  }
  const results = plan.exercises.map((exercise, e) =>
    exercise.checks.map((_, c) => {
      const r = byKey.get(key(e, c)) ?? null;
      if (engineRefused && r) return { exitCode: 1, output: engineRefused, timedOut: false, engineUnverified: true };
      const seen = evidence.get(key(e, c));
      return r && seen !== undefined ? { ...r, evidence: seen } : r;
    }),
  );
  return { results, complete, extras, ...(engineRefused ? { engineRefused } : {}) };
}

/** Listings from a run, by key; untrusted sandbox text. */
export type Extras = Partial<Record<ExtraKey, string>>;

/** The last non-empty line of a check's output: what a script check tells the learner. */
export function lastLine(output: string): string | undefined {
  const lines = output.split('\n').map((l) => l.trim()).filter(Boolean);
  return lines.at(-1)?.slice(0, 300);
}
