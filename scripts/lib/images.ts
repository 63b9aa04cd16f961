/**
 * Berth's images, built locally with no registry (see images/README.md):
 *
 *   debian:trixie-slim  base, made with mmdebstrap + `docker import` when the engine lacks it
 *   hello-world:latest  images/hello-world, a static C program on scratch
 *   berth/sandbox       images/sandbox, the learner's sandbox (rootless nested engine);
 *                       its build context also gets `docker save` tars of the baked images
 *
 * Each image we build carries the label org.berth.input-hash: a hash of every file in
 * its folder plus the image IDs of the images it builds on. ensureImages() rebuilds an
 * image only when that label differs from the hash of the current inputs (or the image
 * is missing), in order, so one call is cheap when everything is current.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cp, lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = dirname(dirname(dirname(fileURLToPath(import.meta.url))));
export const IMAGES_DIR = join(ROOT, 'images');

/** The image the sandbox server runs for each learner. */
export const SANDBOX_IMAGE = 'berth/sandbox:latest';
export const HELLO_WORLD_IMAGE = 'hello-world:latest';
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
  ref: string;
  dir: string;
  /** Images whose IDs enter this image's input hash (FROM, or saved into its context). */
  parents: string[];
  /** Images saved with `docker save` into the build context as baked/<name>.tar. */
  bake: string[];
  title: string;
  description: string;
  /** Also tag <repository>:<first 12 hex of the input hash>. */
  hashTag: boolean;
}

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
  },
  {
    name: 'sandbox',
    ref: SANDBOX_IMAGE,
    dir: join(IMAGES_DIR, 'sandbox'),
    parents: [BASE_IMAGE, HELLO_WORLD_IMAGE],
    bake: [HELLO_WORLD_IMAGE],
    title: 'berth/sandbox',
    description: "A Berth learner's sandbox: Debian 13 with a rootless Docker engine run by the unprivileged user learner",
    hashTag: true,
  },
];

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
export async function hashImageDir(dir: string, parents: string[]): Promise<string> {
  return hashInputs({ files: await readInputFiles(dir), parents });
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
  /** Rebuild even when current: true for all built images, or a list of names ('base', 'hello-world', 'sandbox'). */
  force?: boolean | string[];
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
      say(`base ${BASE_IMAGE}: building with mmdebstrap (missing) ...`);
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
      const hash = await hashImageDir(image.dir, parentIds);
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
      await buildImage(image, hash, hashRef, { say, verbose: options.verbose === true });
      const built = await inspectImage(image.ref);
      if (!built) throw new ImagesError(`${image.ref} is missing right after its build`);
      if (image.hashTag) await removeOldHashTags(image.ref.split(':')[0]!, hashRef);
      const seconds = (performance.now() - t) / 1000;
      say(`${image.name}: built in ${fmtSeconds(seconds)} (${image.ref}${image.hashTag ? ` = ${hashRef}` : ''}, ${fmtSize(built.size)})`);
      images.push({ name: image.name, ref: image.ref, id: built.id, hash, action: 'built', seconds, sizeBytes: built.size });
      ids.set(image.ref, built.id);
    }

    for (const problem of await sandboxHostProblems()) say(`warning: ${problem}`);
    const seconds = (performance.now() - started) / 1000;
    say(`done in ${fmtSeconds(seconds)}`);
    return { images, sandbox: { ref: SANDBOX_IMAGE, id: ids.get(SANDBOX_IMAGE)! }, seconds };
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

async function buildImage(image: BuiltImage, hash: string, hashRef: string, opts: { say: (l: string) => void; verbose: boolean }): Promise<void> {
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
    if (image.hashTag) args.push('-t', hashRef);
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
