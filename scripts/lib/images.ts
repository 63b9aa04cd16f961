/**
 * Berth's images, built locally with no registry (see images/README.md):
 *
 *   debian:trixie-slim     base, made with mmdebstrap + `docker import` when the engine lacks it
 *   berth-catalog/<name>   the lesson image catalog (images/<name>: hello-world, busybox,
 *                          debian, nginx, redis, mariadb, python, webapp, docker), pushed to the
 *                          local registry under Docker Hub names (library/nginx:latest, ...)
 *   berth/sandbox          images/sandbox, the learner's sandbox (rootless nested engine)
 *   berth/registry         images/registry, the registry sandboxes pull the catalog from
 *   berth/dns              images/dns, the name server that answers sandboxes "no such host"
 *
 * Each image we build carries the label org.berth.input-hash: a hash of every file in
 * its folder plus the image IDs of the images it builds on. ensureImages() rebuilds an
 * image only when that label differs from the hash of the current inputs (or the image
 * is missing), in order, then pushes the catalog tags whose image changed, so one call
 * is cheap when everything is current.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cp, lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BlobCache, OCI_LAYER_ZSTD, pushImage, registryManifest, ZSTD_LEVEL } from './catalog-push.ts';

export const ROOT = dirname(dirname(dirname(fileURLToPath(import.meta.url))));
export const IMAGES_DIR = join(ROOT, 'images');

/** The image the sandbox server runs for each learner. */
export const SANDBOX_IMAGE = 'berth/sandbox:latest';
export const HELLO_WORLD_IMAGE = 'berth-catalog/hello-world:latest';
export const BASE_IMAGE = 'debian:trixie-slim';
/** Label holding the hash of an image's inputs. */
export const INPUT_HASH_LABEL = 'org.berth.input-hash';
/** Bump to force every image to rebuild after a change to how images are built. */
const HASH_VERSION = 'berth-images/1';

/** How the base image is made when the engine does not have it. */
export const BASE_RECIPE = {
  suite: 'trixie',
  mirror: 'http://deb.debian.org/debian',
  variant: 'minbase',
  include: ['ca-certificates'],
  // Like Debian's official -slim images: no manuals, docs or translations.
  dpkgopt: [
    'path-exclude=/usr/share/man/*',
    'path-exclude=/usr/share/doc/*',
    'path-include=/usr/share/doc/*/copyright',
    'path-exclude=/usr/share/info/*',
    'path-exclude=/usr/share/locale/*',
    'path-exclude=/usr/share/lintian/*',
  ],
  env: 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
} as const;

interface BuiltImage {
  name: string;
  /** The image's name on the host engine. */
  ref: string;
  dir: string;
  /** Images whose IDs enter this image's input hash (FROM, or saved into its context). */
  parents: string[];
  /** Images saved with `docker save` into the build context as baked/<name>.tar. */
  bake: string[];
  /** --build-arg values (e.g. which local image a FROM $ARG names). */
  buildArgs?: Record<string, string>;
  title: string;
  description: string;
  /** Also tag <repository>:<first 12 hex of the input hash>. */
  hashTag: boolean;
  /**
   * Catalog images: the names it is pushed under in the local registry, as Docker Hub
   * names them (library/nginx:latest, ...). Sandboxes use that registry as their Docker
   * Hub mirror, so `docker pull nginx` there gets this image. Empty: not in the catalog.
   */
  push: string[];
}

/** Catalog images live on the host engine under this prefix, so they never replace an operator's own nginx:latest. */
export const CATALOG_PREFIX = 'berth-catalog/';
export const REGISTRY_IMAGE = 'berth/registry:latest';
export const DNS_IMAGE = 'berth/dns:latest';
/** The volume holding the catalog registry's storage (one per engine; every instance's registry mounts it read-only). */
export const CATALOG_VOLUME = 'berth-catalog';
/** The short-lived writable registry `npm run images` pushes through (published on 127.0.0.1 only). */
export const CATALOG_PUSH_CONTAINER = 'berth-catalog-push';

const catalogRef = (name: string) => `${CATALOG_PREFIX}${name}:latest`;
const official = (what: string) => `Berth's build of ${what} from Debian 13 packages, for learning Docker offline; behaves like the official image for what lessons do`;

export const IMAGES: readonly BuiltImage[] = [
  {
    name: 'hello-world',
    ref: HELLO_WORLD_IMAGE,
    dir: join(IMAGES_DIR, 'hello-world'),
    parents: [BASE_IMAGE],
    bake: [],
    title: 'hello-world',
    description: "Berth's hello-world: a static C program that greets the learner, built from source for the offline catalog",
    hashTag: false,
    push: ['library/hello-world:latest'],
  },
  {
    name: 'busybox',
    ref: catalogRef('busybox'),
    dir: join(IMAGES_DIR, 'busybox'),
    parents: [BASE_IMAGE],
    bake: [],
    title: 'busybox',
    description: official('busybox (static, every applet in /bin)'),
    hashTag: false,
    push: ['library/busybox:latest', 'library/busybox:1.37', 'library/busybox:1'],
  },
  {
    name: 'debian',
    ref: catalogRef('debian'),
    dir: join(IMAGES_DIR, 'debian'),
    parents: [BASE_IMAGE],
    bake: [],
    title: 'debian',
    description: 'Debian 13 (trixie) minbase without docs or translations, like the official -slim; built by Berth with mmdebstrap',
    hashTag: false,
    push: ['library/debian:trixie-slim', 'library/debian:13-slim', 'library/debian:stable-slim', 'library/debian:trixie', 'library/debian:13', 'library/debian:stable', 'library/debian:latest'],
  },
  {
    name: 'nginx',
    ref: catalogRef('nginx'),
    dir: join(IMAGES_DIR, 'nginx'),
    parents: [BASE_IMAGE],
    bake: [],
    title: 'nginx',
    description: official('nginx 1.26'),
    hashTag: false,
    push: ['library/nginx:latest', 'library/nginx:1.26', 'library/nginx:1'],
  },
  {
    name: 'redis',
    ref: catalogRef('redis'),
    dir: join(IMAGES_DIR, 'redis'),
    parents: [BASE_IMAGE],
    bake: [],
    title: 'redis',
    description: official('Redis 8.0'),
    hashTag: false,
    push: ['library/redis:latest', 'library/redis:8.0', 'library/redis:8'],
  },
  {
    name: 'mariadb',
    ref: catalogRef('mariadb'),
    dir: join(IMAGES_DIR, 'mariadb'),
    parents: [BASE_IMAGE],
    bake: [],
    title: 'mariadb',
    description: `${official('MariaDB 11.8')}; also published as mysql (MYSQL_* variables, mysql client, /var/lib/mysql, port 3306)`,
    hashTag: false,
    push: ['library/mariadb:latest', 'library/mariadb:11.8', 'library/mariadb:11', 'library/mariadb:lts', 'library/mysql:latest'],
  },
  {
    name: 'python',
    ref: catalogRef('python'),
    dir: join(IMAGES_DIR, 'python'),
    parents: [BASE_IMAGE],
    bake: [],
    title: 'python',
    description: official('Python 3.13 (slim)'),
    hashTag: false,
    push: ['library/python:3.13-slim', 'library/python:3-slim', 'library/python:slim', 'library/python:3.13-slim-trixie', 'library/python:3.13', 'library/python:3', 'library/python:latest'],
  },
  {
    name: 'webapp',
    ref: catalogRef('webapp'),
    dir: join(IMAGES_DIR, 'webapp'),
    parents: [catalogRef('python')],
    bake: [],
    // The Dockerfile says FROM python:3.13-slim, as a learner writes it; on the host that is ours.
    buildArgs: { PYTHON_IMAGE: catalogRef('python') },
    title: 'berth/webapp',
    description: "Berth's lesson web app: Python standard library, counts visits in redis, port 8000",
    hashTag: false,
    push: ['berth/webapp:latest', 'berth/webapp:1'],
  },
  {
    name: 'docker',
    ref: catalogRef('docker'),
    dir: join(IMAGES_DIR, 'docker'),
    parents: [BASE_IMAGE],
    bake: [],
    title: 'docker',
    description: `${official('the Docker CLI 26.1 with the buildx and compose plugins (the cli variant)')}; no daemon: mount the engine's socket`,
    hashTag: false,
    // Upstream's docker:latest is the dind variant; Berth has no dind, so latest is the CLI.
    push: ['library/docker:cli', 'library/docker:26-cli', 'library/docker:26.1-cli', 'library/docker:latest'],
  },
  {
    // A registry learners run themselves (lesson 3); Berth's own catalog registry is `registry` below.
    name: 'distribution',
    ref: catalogRef('registry'),
    dir: join(IMAGES_DIR, 'distribution'),
    parents: [BASE_IMAGE],
    bake: [],
    title: 'registry',
    description: `${official('the distribution registry 2.8 (docker-registry), with htpasswd')}; runs as root on :5000, stores in /var/lib/registry`,
    hashTag: false,
    // Docker Hub's registry:latest is 3.x since 2025; Berth has 2.8 only, so latest is 2.8.
    push: ['library/registry:2', 'library/registry:2.8', 'library/registry:latest'],
  },
  {
    name: 'sandbox',
    ref: SANDBOX_IMAGE,
    dir: join(IMAGES_DIR, 'sandbox'),
    parents: [BASE_IMAGE],
    bake: [],
    title: 'berth/sandbox',
    description: "A Berth learner's sandbox: Debian 13 with a rootless Docker engine run by the unprivileged user learner",
    hashTag: true,
    push: [],
  },
  {
    name: 'registry',
    ref: REGISTRY_IMAGE,
    dir: join(IMAGES_DIR, 'registry'),
    parents: [BASE_IMAGE],
    bake: [],
    title: 'berth/registry',
    description: "Berth's catalog registry (Debian's docker-registry): read-only for sandboxes, a push role for npm run images, an optional pull-through cache",
    hashTag: false,
    push: [],
  },
  {
    name: 'dns',
    ref: DNS_IMAGE,
    dir: join(IMAGES_DIR, 'dns'),
    parents: [BASE_IMAGE],
    bake: [],
    title: 'berth/dns',
    description: "Berth's offline name server (dnsmasq): answers sandboxes' lookups \"no such name\" at once when they may not reach the internet",
    hashTag: false,
    push: [],
  },
];

/** The catalog: every image pushed to the local registry, and the names it goes by. */
export const CATALOG = IMAGES.filter((i) => i.push.length > 0).map((i) => ({ name: i.name, ref: i.ref, push: i.push }));

// ---------------------------------------------------------------------------
// Input hashing (pure apart from reading files)

export interface InputFile {
  /** Path relative to the image folder, with forward slashes. */
  path: string;
  /** True when any execute bit is set (it changes what COPY produces). */
  executable: boolean;
  /** File contents, or the target of a symbolic link. */
  content: Buffer | string;
}

/** Every file under dir (recursively, sorted by path), ready for hashInputs. */
export async function readInputFiles(dir: string): Promise<InputFile[]> {
  const files: InputFile[] = [];
  async function walk(current: string): Promise<void> {
    for (const entry of await readdir(current, { withFileTypes: true })) {
      const full = join(current, entry.name);
      const path = relative(dir, full).split(sep).join('/');
      if (entry.isDirectory()) await walk(full);
      else if (entry.isSymbolicLink()) files.push({ path, executable: false, content: `symlink:${await readlink(full)}` });
      else if (entry.isFile()) {
        const info = await lstat(full);
        files.push({ path, executable: (info.mode & 0o111) !== 0, content: await readFile(full) });
      }
    }
  }
  await walk(dir);
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/**
 * sha256 (hex) over the files (order-independent), the parents' hashes or image IDs
 * (order matters: they are the image's named inputs) and any extra text.
 */
export function hashInputs(input: { files?: InputFile[]; parents?: string[]; extra?: string }): string {
  const h = createHash('sha256');
  const field = (s: string | Buffer) => {
    const b = typeof s === 'string' ? Buffer.from(s) : s;
    h.update(`${b.length}:`);
    h.update(b);
  };
  field(HASH_VERSION);
  const files = [...(input.files ?? [])].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  field(`files:${files.length}`);
  for (const f of files) {
    field(f.path);
    field(f.executable ? 'x' : '-');
    field(f.content);
  }
  const parents = input.parents ?? [];
  field(`parents:${parents.length}`);
  for (const p of parents) field(p);
  field(`extra:${input.extra ?? ''}`);
  return h.digest('hex');
}

/** Hash of an image folder plus its parents' IDs. */
export async function hashImageDir(dir: string, parents: string[], extra?: string): Promise<string> {
  return hashInputs({ files: await readInputFiles(dir), parents, extra });
}

export const shortHash = (hash: string): string => hash.slice(0, 12);

// ---------------------------------------------------------------------------
// Running commands

export class ImagesError extends Error {}

interface RunResult { code: number; stdout: string; stderr: string }

/** Run a command; never throws for a non-zero exit. onLine gets stdout+stderr lines as they come. */
function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; onLine?: (line: string) => void; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let partial = '';
    const feed = (chunk: string) => {
      if (!opts.onLine) return;
      partial += chunk;
      const lines = partial.split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) opts.onLine(line);
    };
    child.stdout.setEncoding('utf8').on('data', (c: string) => { stdout += c; feed(c); });
    child.stderr.setEncoding('utf8').on('data', (c: string) => { stderr += c; feed(c); });
    const timer = opts.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs) : undefined;
    child.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(err.code === 'ENOENT' ? new ImagesError(`\`${cmd}\` was not found on PATH (run sudo scripts/install-prereqs.sh)`) : err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (partial && opts.onLine) opts.onLine(partial);
      resolve({ code: code ?? 1, stdout, stderr });
    });
  });
}

const tail = (text: string, n = 40) => text.trimEnd().split('\n').slice(-n).map((l) => `    ${l}`).join('\n');

async function docker(args: string[], opts: { onLine?: (line: string) => void; timeoutMs?: number } = {}): Promise<RunResult> {
  // The legacy builder works with every engine version (20.10's BuildKit needs a buildx
  // plugin that a newer client may not have) and prints plain "Step n/m" lines.
  return run('docker', args, { ...opts, env: { ...process.env, DOCKER_BUILDKIT: '0' } });
}

async function dockerOk(args: string[], what: string, opts: { onLine?: (line: string) => void } = {}): Promise<string> {
  const r = await docker(args, opts);
  if (r.code !== 0) throw new ImagesError(`${what} failed (docker ${args[0]} exited ${r.code}):\n${tail(r.stdout + r.stderr)}`);
  return r.stdout.trim();
}

interface ImageInfo { id: string; labels: Record<string, string>; size: number }

export async function inspectImage(ref: string): Promise<ImageInfo | undefined> {
  const r = await docker(['image', 'inspect', '--format', '{{json .Id}} {{json .Config.Labels}} {{.Size}}', ref]);
  if (r.code !== 0) return undefined;
  const m = /^(\S+) (.*) (\d+)$/.exec(r.stdout.trim());
  if (!m) return undefined;
  return { id: JSON.parse(m[1]!) as string, labels: (JSON.parse(m[2]!) as Record<string, string> | null) ?? {}, size: Number(m[3]) };
}

/** Throws an ImagesError naming the fix when no engine answers. Returns the server version. */
export async function engineVersion(): Promise<string> {
  const r = await docker(['version', '--format', '{{.Server.Version}}'], { timeoutMs: 20_000 });
  const version = r.stdout.trim();
  if (r.code !== 0 || !version) {
    const why = (r.stderr.trim().split('\n').find((l) => l.trim()) ?? `exit ${r.code}`).trim();
    throw new ImagesError(`no Docker engine answers (${why}). Start one: sudo scripts/install-prereqs.sh`);
  }
  return version;
}

// ---------------------------------------------------------------------------
// Host checks the sandbox needs (reported, not fixed: the host is not ours to change)

/** Problems on this host that would stop sandboxes from starting, each with its fix. */
export async function sandboxHostProblems(): Promise<string[]> {
  const problems: string[] = [];
  try {
    const info = await stat('/dev/net/tun');
    if ((info.mode & 0o006) !== 0o006) {
      problems.push(`/dev/net/tun is mode ${(info.mode & 0o777).toString(8)}; the sandbox's unprivileged engine needs 666 (what udev sets on most hosts): sudo chmod 666 /dev/net/tun`);
    }
  } catch {
    problems.push('/dev/net/tun is missing: sudo modprobe tun (sandbox networking uses slirp4netns)');
  }
  return problems;
}

// ---------------------------------------------------------------------------
// ensureImages

export interface EnsureOptions {
  /** Print nothing but errors (default false). */
  quiet?: boolean;
  /** Print the full docker build output, not only the "Step" lines (default false). */
  verbose?: boolean;
  /** Rebuild even when current: true for all, or names ('base', 'hello-world', 'nginx', ..., 'sandbox', 'registry'; 'catalog' re-pushes every tag). */
  force?: boolean | string[];
  /** Build without the engine's layer cache (with force: a cold build, as on a new machine). */
  noCache?: boolean;
  /** Where progress goes (default: console.log). */
  log?: (line: string) => void;
}

export interface ImageStatus {
  name: string;
  ref: string;
  id: string;
  /** Input hash label ('' for a base image the engine already had). */
  hash: string;
  action: 'up-to-date' | 'built' | 'present';
  seconds: number;
  sizeBytes: number;
}

export interface EnsureResult {
  images: ImageStatus[];
  /** The sandbox image to run (berth/sandbox:latest) and its ID. */
  sandbox: { ref: string; id: string };
  catalog: CatalogResult;
  seconds: number;
}

const fmtSeconds = (s: number) => `${s.toFixed(1)} s`;
const fmtSize = (bytes: number) => (bytes >= 1e9 ? `${(bytes / 1e9).toFixed(2)} GB` : bytes >= 1e6 ? `${(bytes / 1e6).toFixed(0)} MB` : `${(bytes / 1e3).toFixed(0)} kB`);

/**
 * Builds whatever is missing or out of date, in order (base, hello-world, sandbox),
 * and returns what the engine now has. Throws ImagesError with a readable message
 * when the engine is unreachable or a build fails. Safe to call concurrently from
 * several processes (a lock file serialises them).
 */
export async function ensureImages(options: EnsureOptions = {}): Promise<EnsureResult> {
  const out = options.log ?? ((line: string) => console.log(line));
  const say = (line: string) => { if (!options.quiet) out(`[images] ${line}`); };
  const forced = (name: string) => options.force === true || (Array.isArray(options.force) && options.force.includes(name));
  const started = performance.now();

  const version = await engineVersion();
  say(`engine ${version}`);
  const release = await lock(say);
  try {
    const images: ImageStatus[] = [];
    const ids = new Map<string, string>();

    // 1. Base image.
    const t0 = performance.now();
    let base = forced('base') ? undefined : await inspectImage(BASE_IMAGE);
    const baseHash = hashInputs({ extra: JSON.stringify(BASE_RECIPE) });
    if (base) {
      const ours = base.labels[INPUT_HASH_LABEL] !== undefined;
      say(`base ${BASE_IMAGE}: ${ours ? 'present' : 'present (not built by Berth), using it'}`);
      images.push({ name: 'base', ref: BASE_IMAGE, id: base.id, hash: base.labels[INPUT_HASH_LABEL] ?? '', action: 'present', seconds: 0, sizeBytes: base.size });
    } else {
      say(`base ${BASE_IMAGE}: building with mmdebstrap (${forced('base') ? 'forced' : 'missing'}) ...`);
      await buildBase(baseHash);
      base = await inspectImage(BASE_IMAGE);
      if (!base) throw new ImagesError(`${BASE_IMAGE} is missing right after docker import`);
      const seconds = (performance.now() - t0) / 1000;
      say(`base ${BASE_IMAGE}: built in ${fmtSeconds(seconds)} (${fmtSize(base.size)})`);
      images.push({ name: 'base', ref: BASE_IMAGE, id: base.id, hash: baseHash, action: 'built', seconds, sizeBytes: base.size });
    }
    ids.set(BASE_IMAGE, base.id);

    // 2. Our images, in order.
    for (const image of IMAGES) {
      const t = performance.now();
      const parentIds = image.parents.map((p) => {
        const id = ids.get(p);
        if (!id) throw new Error(`internal: ${image.name} needs ${p}, which is not built before it`);
        return id;
      });
      const hash = await hashImageDir(image.dir, parentIds, image.buildArgs ? JSON.stringify(image.buildArgs) : undefined);
      const current = await inspectImage(image.ref);
      const have = current?.labels[INPUT_HASH_LABEL];
      const hashRef = `${image.ref.split(':')[0]}:${shortHash(hash)}`;
      if (current && have === hash && !forced(image.name)) {
        if (image.hashTag) await dockerOk(['tag', current.id, hashRef], `tagging ${hashRef}`);
        say(`${image.name}: up to date (${image.ref}${image.hashTag ? ` = ${hashRef}` : ''}, ${fmtSize(current.size)})`);
        images.push({ name: image.name, ref: image.ref, id: current.id, hash, action: 'up-to-date', seconds: (performance.now() - t) / 1000, sizeBytes: current.size });
        ids.set(image.ref, current.id);
        continue;
      }
      const why = !current ? 'missing' : forced(image.name) ? 'forced' : have ? 'inputs changed' : 'not built by Berth';
      say(`${image.name}: building (${why}) ...`);
      await buildImage(image, hash, hashRef, { say, verbose: options.verbose === true, noCache: options.noCache === true });
      const built = await inspectImage(image.ref);
      if (!built) throw new ImagesError(`${image.ref} is missing right after its build`);
      if (image.hashTag) await removeOldHashTags(image.ref.split(':')[0]!, hashRef);
      const seconds = (performance.now() - t) / 1000;
      say(`${image.name}: built in ${fmtSeconds(seconds)} (${image.ref}${image.hashTag ? ` = ${hashRef}` : ''}, ${fmtSize(built.size)})`);
      images.push({ name: image.name, ref: image.ref, id: built.id, hash, action: 'built', seconds, sizeBytes: built.size });
      ids.set(image.ref, built.id);
    }

    // 3. The catalog, into the local registry's volume (only tags whose image changed).
    const catalog = await pushCatalog(ids, { say, verbose: options.verbose === true, force: forced('catalog') });

    for (const problem of await sandboxHostProblems()) say(`warning: ${problem}`);
    const seconds = (performance.now() - started) / 1000;
    const built = images.filter((i) => i.action === 'built');
    if (built.length > 1) {
      say('summary of this run:');
      for (const i of built) say(`  ${i.name.padEnd(12)} built in ${fmtSeconds(i.seconds).padStart(8)}  ${fmtSize(i.sizeBytes)}`);
      say(`  ${'catalog push'.padEnd(12)}    ${catalog.pushed ? `in ${fmtSeconds(catalog.seconds).padStart(8)}` : '(nothing to push)'}`);
    }
    say(`done in ${fmtSeconds(seconds)}`);
    return { images, sandbox: { ref: SANDBOX_IMAGE, id: ids.get(SANDBOX_IMAGE)! }, catalog, seconds };
  } finally {
    await release();
  }
}

async function buildBase(hash: string): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'berth-base-'));
  try {
    const rootfs = join(work, 'rootfs.tar');
    const r = BASE_RECIPE;
    const args = [
      `--variant=${r.variant}`,
      `--include=${r.include.join(',')}`,
      ...r.dpkgopt.map((o) => `--dpkgopt=${o}`),
      r.suite, rootfs, r.mirror,
    ];
    const result = await run('mmdebstrap', args).catch((err: unknown) => {
      if (err instanceof ImagesError) throw new ImagesError('mmdebstrap is not installed (sudo scripts/install-prereqs.sh installs it)');
      throw err;
    });
    if (result.code !== 0) throw new ImagesError(`mmdebstrap failed (exit ${result.code}):\n${tail(result.stdout + result.stderr)}`);
    await dockerOk([
      'import',
      '-c', `ENV ${r.env}`,
      '-c', 'CMD ["bash"]',
      '-c', `LABEL ${INPUT_HASH_LABEL}="${hash}"`,
      '-c', `LABEL org.opencontainers.image.description="Debian 13 (${r.suite}) ${r.variant}, built locally by Berth with mmdebstrap"`,
      rootfs, BASE_IMAGE,
    ], 'docker import');
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function buildImage(image: BuiltImage, hash: string, hashRef: string, opts: { say: (l: string) => void; verbose: boolean; noCache: boolean }): Promise<void> {
  let context = image.dir;
  let work: string | undefined;
  try {
    if (image.bake.length) {
      work = await mkdtemp(join(tmpdir(), `berth-${image.name}-`));
      context = join(work, 'context');
      await cp(image.dir, context, { recursive: true });
      await mkdir(join(context, 'baked'), { recursive: true });
      for (const ref of image.bake) {
        const file = join(context, 'baked', `${ref.split(':')[0]!.replaceAll('/', '_')}.tar`);
        await dockerOk(['save', '-o', file, ref], `docker save ${ref}`);
      }
    }
    const labels: Record<string, string> = {
      [INPUT_HASH_LABEL]: hash,
      'org.opencontainers.image.title': image.title,
      'org.opencontainers.image.description': image.description,
      'org.opencontainers.image.source': sourceUrl(image.name),
      'org.opencontainers.image.vendor': 'Berth',
    };
    const args = ['build', '--rm', '--force-rm', '-t', image.ref];
    if (opts.noCache) args.push('--no-cache');
    if (image.hashTag) args.push('-t', hashRef);
    for (const [k, v] of Object.entries(image.buildArgs ?? {})) args.push('--build-arg', `${k}=${v}`);
    for (const [k, v] of Object.entries(labels)) args.push('--label', `${k}=${v}`);
    args.push(context);
    const onLine = (line: string) => {
      if (opts.verbose) opts.say(`  ${line}`);
      // The "Step n/m" lines, minus the LABEL steps that --label adds at the end.
      else if (/^Step \d+\/\d+ : /.test(line) && !/ : LABEL org\.(berth|opencontainers)\./.test(line)) {
        opts.say(`  ${line.length > 110 ? `${line.slice(0, 107)}...` : line}`);
      }
    };
    await dockerOk(args, `building ${image.ref}`, { onLine });
  } finally {
    if (work) await rm(work, { recursive: true, force: true });
  }
}

/** Where an image's source lives: BERTH_SOURCE_URL (a repository URL) or the path in this repository. */
function sourceUrl(name: string): string {
  const base = process.env.BERTH_SOURCE_URL?.replace(/\/+$/, '');
  return base ? `${base}/tree/main/images/${name}` : `images/${name}`;
}

/** Untag older <repo>:<hash> tags so old builds can be pruned; an image a container still uses keeps its tag. */
async function removeOldHashTags(repository: string, keep: string): Promise<void> {
  const r = await docker(['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}', repository]);
  for (const ref of r.stdout.split('\n').map((l) => l.trim())) {
    if (!ref || ref === keep || !/:[0-9a-f]{12}$/.test(ref)) continue;
    await docker(['rmi', ref]); // fails harmlessly when a container uses it
  }
}

// ---------------------------------------------------------------------------
// The catalog registry: push what changed

export interface CatalogResult {
  volume: string;
  /** Tags pushed in this run (their image differed from the registry's). */
  pushed: string[];
  /** Tags the registry already had with the same image. */
  upToDate: string[];
  seconds: number;
  /** Bytes the registry's storage takes, when measured (after a push). */
  sizeBytes?: number;
}

const PUSH_STATE_FILE = join(tmpdir(), 'berth-catalog-state.json');

/** The image config digest (= image ID) the registry holds for repo:tag, or undefined. */
export async function registryImageId(base: string, name: string): Promise<string | undefined> {
  return (await registryManifest(base, name).catch((err: Error) => { throw new ImagesError(err.message); }))?.config?.digest;
}

/** True when the registry holds image `id` as `name`, pushed the way pushImage pushes (zstd layers). */
async function registryHasCurrent(base: string, name: string, id: string): Promise<boolean> {
  const m = await registryManifest(base, name).catch((err: Error) => { throw new ImagesError(err.message); });
  return m?.config?.digest === id && (m.layers ?? []).every((l) => l.mediaType === OCI_LAYER_ZSTD);
}

async function waitForRegistry(base: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(`${base}/v2/`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new ImagesError(`the catalog push registry did not answer at ${base} within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Pushes each catalog tag whose image differs from the registry's copy, or whose layers
 * are not zstd (catalog-push.ts: gzip inflating was most of a sandbox's pull). The registry
 * storage is the volume CATALOG_VOLUME; pushes go through a writable registry container
 * that runs only for the push and is published on the host's 127.0.0.1 (never where a
 * sandbox can reach it). A state file (engine ID, volume creation time, tag -> image ID)
 * lets a run where nothing changed skip starting that container.
 */
async function pushCatalog(ids: Map<string, string>, opts: { say: (l: string) => void; verbose: boolean; force: boolean }): Promise<CatalogResult> {
  const started = performance.now();
  const wanted: Record<string, string> = {};
  for (const image of IMAGES) {
    for (const name of image.push) wanted[name] = ids.get(image.ref)!;
  }
  const names = Object.keys(wanted);
  let volumeCreated = (await docker(['volume', 'inspect', '--format', '{{.CreatedAt}}', CATALOG_VOLUME])).stdout.trim();
  if (!volumeCreated) {
    await dockerOk(['volume', 'create', '--label', 'org.berth.managed=true', '--label', 'org.berth.role=catalog', CATALOG_VOLUME], 'creating the catalog volume');
    volumeCreated = (await docker(['volume', 'inspect', '--format', '{{.CreatedAt}}', CATALOG_VOLUME])).stdout.trim();
  }
  const engineId = (await docker(['info', '--format', '{{.ID}}'])).stdout.trim();
  const state = { engineId, volume: CATALOG_VOLUME, volumeCreated, layers: `${OCI_LAYER_ZSTD};level=${ZSTD_LEVEL}`, tags: wanted };
  const previous = await readFile(PUSH_STATE_FILE, 'utf8').then((t) => JSON.stringify(JSON.parse(t)), () => '');
  if (!opts.force && previous === JSON.stringify(state)) {
    opts.say(`catalog: ${names.length} tags up to date in volume ${CATALOG_VOLUME}`);
    return { volume: CATALOG_VOLUME, pushed: [], upToDate: names, seconds: (performance.now() - started) / 1000 };
  }

  await docker(['rm', '-f', CATALOG_PUSH_CONTAINER]);
  await dockerOk([
    'run', '-d', '--name', CATALOG_PUSH_CONTAINER,
    '--label', 'org.berth.managed=true', '--label', 'org.berth.role=catalog-push',
    '-p', '127.0.0.1::5000',
    '--mount', `type=volume,src=${CATALOG_VOLUME},dst=/var/lib/registry`,
    REGISTRY_IMAGE, 'serve-push',
  ], 'starting the catalog push registry');
  const pushed: string[] = [];
  const upToDate: string[] = [];
  try {
    const hostPort = (await dockerOk(['port', CATALOG_PUSH_CONTAINER, '5000/tcp'], 'reading the push registry port')).split('\n')[0]!.trim();
    const base = `http://${hostPort}`;
    await waitForRegistry(base, 15_000);
    // Tags by image, so each image is saved once and its layers compressed once (BlobCache).
    const stale = new Map<string, string[]>();
    for (const name of names) {
      const id = wanted[name]!;
      if (!opts.force && (await registryHasCurrent(base, name, id))) upToDate.push(name);
      else stale.set(id, [...(stale.get(id) ?? []), name]);
    }
    const blobs = new BlobCache();
    for (const [id, tags] of stale) {
      const t = performance.now();
      opts.say(`catalog: pushing ${tags.join(', ')} (zstd layers) ...`);
      try {
        await pushImage(base, id, tags, blobs, opts.verbose ? (l) => opts.say(`  ${l}`) : undefined);
      } catch (err) {
        throw new ImagesError(`pushing ${tags[0]}: ${(err as Error).message}`);
      }
      for (const name of tags) {
        const got = await registryImageId(base, name);
        if (got !== id) throw new ImagesError(`after pushing ${name} the registry holds ${got ?? 'nothing'}, not ${id}`);
        pushed.push(name);
      }
      opts.say(`catalog: ${tags[0]} pushed in ${fmtSeconds((performance.now() - t) / 1000)}`);
    }
  } finally {
    await docker(['rm', '-f', '-v', CATALOG_PUSH_CONTAINER]);
  }
  let sizeBytes: number | undefined;
  if (pushed.length) {
    // Drop blobs that no tag uses any more (replaced builds), then measure.
    await docker(['run', '--rm', '--mount', `type=volume,src=${CATALOG_VOLUME},dst=/var/lib/registry`, '--entrypoint', 'docker-registry',
      REGISTRY_IMAGE, 'garbage-collect', '--delete-untagged', '/etc/berth-registry/config-push.yml']);
    sizeBytes = await catalogVolumeBytes();
  }
  await writeFile(PUSH_STATE_FILE, JSON.stringify(state));
  const seconds = (performance.now() - started) / 1000;
  opts.say(`catalog: ${pushed.length} pushed, ${upToDate.length} up to date (${names.length} tags${sizeBytes ? `, ${fmtSize(sizeBytes)} in the registry` : ''}) in ${fmtSeconds(seconds)}`);
  return { volume: CATALOG_VOLUME, pushed, upToDate, seconds, sizeBytes };
}

/** Bytes in the catalog registry's storage (du in a throwaway container, read-only). */
export async function catalogVolumeBytes(): Promise<number | undefined> {
  const r = await docker(['run', '--rm', '--mount', `type=volume,src=${CATALOG_VOLUME},dst=/r,readonly`, '--entrypoint', 'du', REGISTRY_IMAGE, '-sb', '/r']);
  const n = Number(r.stdout.trim().split(/\s+/)[0]);
  return r.code === 0 && Number.isFinite(n) ? n : undefined;
}

// ---------------------------------------------------------------------------
// A lock so `npm start` and `npm test` running at once do not build twice.

async function lock(say: (line: string) => void): Promise<() => Promise<void>> {
  const dir = join(tmpdir(), 'berth-images.lock');
  const pidFile = join(dir, 'pid');
  let waiting = false;
  for (;;) {
    try {
      await mkdir(dir);
      await writeFile(pidFile, String(process.pid));
      return async () => { await rm(dir, { recursive: true, force: true }); };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const pid = Number(await readFile(pidFile, 'utf8').catch(() => ''));
    if (!pid || !alive(pid)) {
      // Stale (its owner died), or just created and not yet written: check again shortly.
      const age = await stat(dir).then((s) => Date.now() - s.mtimeMs, () => 0);
      if (pid || age > 5000) await rm(dir, { recursive: true, force: true });
      await new Promise((r) => setTimeout(r, 100));
      continue;
    }
    if (!waiting) say(`waiting for another image build to finish (pid ${pid}) ...`);
    waiting = true;
    await new Promise((r) => setTimeout(r, 1000));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
