/**
 * SandboxRuntime on a Docker engine, through dockerode. Each sandbox is one
 * container running a rootless nested dockerd as the unprivileged user `learner`,
 * with a named volume for the nested engine's data. See images/README.md for why
 * each flag below is needed.
 */
import Docker from 'dockerode';
import { PassThrough } from 'node:stream';
import { LABEL, berthLabels, labelFilter } from './labels.ts';
import type { ExecResult, SandboxInfo, SandboxLimits, SandboxRuntime, Shell, VolumeInfo } from './types.ts';
import { startRegistry, type Registry } from '../registry.ts';

export const SANDBOX_USER = 'learner';
export const SANDBOX_HOME = '/home/learner';
/** The nested engine's data; a named volume so it survives stop/start and uses native overlay2. */
const ENGINE_DATA_PATH = `${SANDBOX_HOME}/.local/share/docker`;
const MAX_EXEC_OUTPUT = 1024 * 1024;
/** Time the nested engine gets to stop its own containers (which get 10 s) before a kill. */
const STOP_TIMEOUT_S = 15;

export interface DockerRuntimeOptions {
  instance: string;
  image: string;
  limits: SandboxLimits;
  docker?: Docker;
  /**
   * The catalog registry every sandbox uses as its Docker Hub mirror, started by
   * prepare() (default: on, port 5000, no pull-through upstream); false: none.
   * Whoever calls prepare() calls close() when done (it removes the registry container).
   */
  registry?: { port: number; upstream: string } | false;
}

export class DockerRuntime implements SandboxRuntime {
  readonly docker: Docker;
  private readonly instance: string;
  private readonly image: string;
  private readonly limits: SandboxLimits;
  /**
   * Docker Hub mirrors for sandboxes created from now on (BERTH_REGISTRY_MIRROR; the
   * sandbox entrypoint writes them into the nested engine's daemon.json). Set by
   * startBerth once the catalog registry answers (sandbox-server/src/registry.ts).
   */
  registryMirrors: string[] = [];
  /** The running catalog registry, once prepare() has started it. */
  registry: Registry | undefined;
  private readonly registryOptions: { port: number; upstream: string } | false;

  constructor(opts: DockerRuntimeOptions) {
    this.docker = opts.docker ?? new Docker();
    this.instance = opts.instance;
    this.image = opts.image;
    this.limits = opts.limits;
    this.registryOptions = opts.registry ?? { port: 5000, upstream: '' };
  }

  get networkName(): string {
    return `berth-${this.instance}-sandboxes`;
  }

  private containerName(learner: string): string {
    return `berth-${this.instance}-sbx-${learner.slice(0, 16)}`;
  }

  private volumeName(learner: string): string {
    return `berth-${this.instance}-data-${learner.slice(0, 16)}`;
  }

  async prepare(): Promise<void> {
    try {
      await this.docker.ping();
    } catch (err) {
      throw new Error(`cannot reach the Docker engine (${(err as Error).message}); is dockerd running and is DOCKER_HOST right?`);
    }
    try {
      await this.docker.getImage(this.image).inspect();
    } catch {
      throw new Error(`sandbox image ${this.image} is missing; build it with: npm run images`);
    }
    const existing = await this.docker.listNetworks({ filters: labelFilter(this.instance, 'network') });
    if (!existing.some((n) => n.Name === this.networkName)) {
      await this.docker.createNetwork({
        Name: this.networkName,
        Driver: 'bridge',
        Labels: berthLabels(this.instance, 'network'),
        // Sandboxes share this bridge only to reach the outside; they must not reach each other.
        Options: { 'com.docker.network.bridge.enable_icc': 'false' },
      });
    }
    if (this.registryOptions !== false) {
      this.registry = await startRegistry({ docker: this.docker, instance: this.instance, network: this.networkName, ...this.registryOptions });
      this.registryMirrors = this.registry.mirrors;
    }
  }

  /** Removes what prepare() started beside the sandboxes (the catalog registry); sandboxes stay. */
  async close(): Promise<void> {
    const registry = this.registry;
    this.registry = undefined;
    await registry?.close();
  }

  async ping(): Promise<boolean> {
    try {
      await this.docker.ping();
      return true;
    } catch {
      return false;
    }
  }

  async listSandboxes(): Promise<SandboxInfo[]> {
    return this.sandboxesMatching();
  }

  /** This instance's sandbox containers, in any state; one learner's when given. */
  private async sandboxesMatching(learner?: string): Promise<SandboxInfo[]> {
    const list = await this.docker.listContainers({ all: true, filters: labelFilter(this.instance, 'sandbox', learner) });
    return list.map((c) => ({
      id: c.Id,
      learner: c.Labels[LABEL.learner] ?? '',
      running: c.State === 'running',
      engineState: c.State,
      createdAt: c.Created * 1000,
    }));
  }

  async listVolumes(): Promise<VolumeInfo[]> {
    const { Volumes } = await this.docker.listVolumes({ filters: labelFilter(this.instance, 'sandbox-data') });
    return (Volumes ?? []).map((v) => ({ name: v.Name, learner: v.Labels?.[LABEL.learner] ?? '' }));
  }

  async find(learner: string): Promise<SandboxInfo | undefined> {
    return (await this.sandboxesMatching(learner))[0];
  }

  async create(learner: string): Promise<SandboxInfo> {
    const volume = this.volumeName(learner);
    try {
      await this.docker.getVolume(volume).inspect();
    } catch {
      await this.docker.createVolume({ Name: volume, Labels: berthLabels(this.instance, 'sandbox-data', learner) });
    }
    const memory = this.limits.memoryBytes;
    const container = await this.docker.createContainer({
      name: this.containerName(learner),
      Image: this.image,
      Hostname: 'berth',
      User: SANDBOX_USER,
      Labels: berthLabels(this.instance, 'sandbox', learner),
      Env: this.registryMirrors.length ? [`BERTH_REGISTRY_MIRROR=${this.registryMirrors.join(',')}`] : [],
      StopTimeout: STOP_TIMEOUT_S,
      HostConfig: {
        // newuidmap/newgidmap (setuid) need SYS_ADMIN in the bounding set to map the
        // nested engine's user namespace; the learner's own processes get no effective caps.
        CapAdd: ['SYS_ADMIN'],
        // rootlesskit needs unshare/mount syscalls and a writable /proc/sys for its
        // network namespace; a tighter seccomp profile is tracked in the safety issue.
        SecurityOpt: ['seccomp=unconfined', 'apparmor=unconfined'],
        // The API form of --security-opt systempaths=unconfined: rootlesskit writes
        // /proc/sys inside its own namespaces, which masked paths would forbid.
        MaskedPaths: [],
        ReadonlyPaths: [],
        Devices: [{ PathOnHost: '/dev/net/tun', PathInContainer: '/dev/net/tun', CgroupPermissions: 'rwm' }],
        Mounts: [{ Type: 'volume', Source: volume, Target: ENGINE_DATA_PATH }],
        Memory: memory,
        MemorySwap: memory, // equal to Memory: no swap
        NanoCpus: Math.round(this.limits.cpus * 1e9),
        PidsLimit: this.limits.pids,
        NetworkMode: this.networkName,
        RestartPolicy: { Name: 'no' },
        LogConfig: { Type: 'json-file', Config: { 'max-size': '1m', 'max-file': '1' } },
      },
    });
    const info = await container.inspect();
    return { id: info.Id, learner, running: false, engineState: info.State.Status, createdAt: Date.parse(info.Created) };
  }

  async start(id: string): Promise<void> {
    try {
      await this.docker.getContainer(id).start();
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode !== 304) throw err; // 304: already running
    }
  }

  async stop(id: string): Promise<void> {
    try {
      await this.docker.getContainer(id).stop({ t: STOP_TIMEOUT_S });
    } catch (err) {
      const code = (err as { statusCode?: number }).statusCode;
      if (code !== 304 && code !== 404) throw err; // already stopped or gone
    }
  }

  async destroy(learner: string): Promise<void> {
    for (const c of await this.sandboxesMatching(learner)) await ignoreMissing(this.docker.getContainer(c.id).remove({ force: true, v: true }));
    await this.removeVolume(this.volumeName(learner));
  }

  async removeVolume(name: string): Promise<void> {
    await ignoreMissing(this.docker.getVolume(name).remove());
  }

  async exec(id: string, cmd: string[], timeoutMs: number): Promise<ExecResult> {
    const exec = await this.docker.getContainer(id).exec({
      Cmd: cmd,
      User: SANDBOX_USER,
      WorkingDir: SANDBOX_HOME,
      AttachStdout: true,
      AttachStderr: true,
    });
    const stream = await exec.start({ hijack: true, stdin: false });
    const out = new CappedText(MAX_EXEC_OUTPUT);
    const err = new CappedText(MAX_EXEC_OUTPUT);
    const stdout = new PassThrough().on('data', (d: Buffer) => out.add(d));
    const stderr = new PassThrough().on('data', (d: Buffer) => err.add(d));
    this.docker.modem.demuxStream(stream, stdout, stderr);
    let timedOut = false;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        timedOut = true;
        stream.destroy();
        resolve();
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      stream.on('end', done);
      stream.on('close', done);
      stream.on('error', done);
    });
    const info = timedOut ? undefined : await exec.inspect();
    return { exitCode: info?.ExitCode ?? null, stdout: out.text(), stderr: err.text(), timedOut };
  }

  async watchEvents(id: string, onEvent: (type: string) => void): Promise<() => void> {
    const exec = await this.docker.getContainer(id).exec({
      // `exec` so the events process itself gets SIGPIPE, and ends, once we stop reading.
      Cmd: ['bash', '-c', "exec docker events --format '{{.Type}}'"],
      User: SANDBOX_USER,
      AttachStdout: true,
      AttachStderr: false,
    });
    const stream = await exec.start({ hijack: true, stdin: false });
    const stdout = new PassThrough();
    this.docker.modem.demuxStream(stream, stdout, new PassThrough());
    let partial = '';
    stdout.on('data', (chunk: Buffer) => {
      const lines = (partial + chunk.toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) if (line.trim()) onEvent(line.trim().slice(0, 40));
    });
    stream.on('error', () => {});
    return () => stream.destroy();
  }

  async openShell(id: string, cols: number, rows: number): Promise<Shell> {
    const exec = await this.docker.getContainer(id).exec({
      Cmd: ['bash', '-l'],
      User: SANDBOX_USER,
      WorkingDir: SANDBOX_HOME,
      Env: [`COLUMNS=${cols}`, `LINES=${rows}`],
      AttachStdin: true,
      AttachStdout: true,
      AttachStderr: true,
      Tty: true,
    });
    const stream = await exec.start({ hijack: true, stdin: true, Tty: true });
    const resize = async (c: number, r: number) => {
      try {
        await exec.resize({ w: c, h: r });
      } catch {
        // The shell may have exited between the message and the call; nothing to resize.
      }
    };
    await resize(cols, rows);
    return { stream, resize };
  }

  async logsTail(id: string, lines: number): Promise<string> {
    try {
      const buf = (await this.docker.getContainer(id).logs({ stdout: true, stderr: true, tail: lines })) as unknown as Buffer;
      return stripDockerLogHeaders(buf);
    } catch {
      return '';
    }
  }
}

async function ignoreMissing(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode !== 404) throw err;
  }
}

/** Logs of a non-TTY container come framed with 8-byte headers; keep only the text. */
export function stripDockerLogHeaders(buf: Buffer): string {
  const parts: Buffer[] = [];
  let i = 0;
  while (i + 8 <= buf.length && (buf[i] === 1 || buf[i] === 2) && buf[i + 1] === 0) {
    const len = buf.readUInt32BE(i + 4);
    parts.push(buf.subarray(i + 8, i + 8 + len));
    i += 8 + len;
  }
  return (i === 0 ? buf : Buffer.concat(parts)).toString('utf8');
}

class CappedText {
  private parts: Buffer[] = [];
  private size = 0;
  private readonly cap: number;
  constructor(cap: number) {
    this.cap = cap;
  }
  add(d: Buffer): void {
    if (this.size >= this.cap) return;
    const piece = d.subarray(0, this.cap - this.size);
    this.parts.push(piece);
    this.size += piece.length;
  }
  text(): string {
    return Buffer.concat(this.parts).toString('utf8');
  }
}
