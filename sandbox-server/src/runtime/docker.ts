/**
 * SandboxRuntime on a Docker engine, through dockerode. Each sandbox is one
 * container running a rootless nested dockerd as the unprivileged user `learner`,
 * on a size-bounded disk kept in a named volume. See images/README.md and the
 * README's threat model for why each flag below is needed.
 */
import Docker from 'dockerode';
import { readFileSync } from 'node:fs';
import { Duplex, PassThrough } from 'node:stream';
import { LABEL, berthLabels, labelFilter } from './labels.ts';
import type { DiskUsage, ExecResult, ExecUser, SandboxInfo, SandboxLimits, SandboxRuntime, Shell, VolumeInfo } from './types.ts';
import { removeLeftoverHelpers, runHelperContainer } from './helper-container.ts';
import { cacheName, emptyRegistryCache, networkGateway, removeRegistry, startRegistry, type Registry } from '../registry.ts';
import { SANDBOX_CAPABILITIES } from '../capabilities.ts';
import { loadConfig } from '../config.ts';
import { applyFirewall, bridgeNameFor, removeFirewall, type FirewallPolicy } from './firewall.ts';
import { removeOfflineDns, startOfflineDns, type OfflineDns } from './offline-dns.ts';
import { CappedLines } from './capped-lines.ts';
import { candidateSubnets, contains, firstHost, formatAddressPools, isIpv4Range, overlaps, subnetPrefix, type AddressPool } from './address-pools.ts';

export const SANDBOX_USER = 'learner';
/** The checker (images/sandbox/Dockerfile): exercise checks run as it, out of the learner's reach. */
export const CHECK_USER = 'berth-check';
export const SANDBOX_HOME = '/home/learner';
/**
 * Where the sandbox's named volume is mounted: it holds disk.img, the sparse ext4
 * image berth-init mounts on /home/learner (so it survives stop/start, and goes
 * with the volume). Root-only inside the sandbox.
 */
const DISK_STORE_PATH = '/var/lib/berth';
/** What a caller leaves out of the options takes the BERTH_* settings' defaults (config.ts). */
const DEFAULTS = loadConfig({});
/**
 * Docker's default seccomp profile (20.10) plus what rootless Docker needs; see the
 * "comment" of the last entries and images/README.md. The API takes the text itself.
 */
const SECCOMP_PROFILE = JSON.stringify(JSON.parse(readFileSync(new URL('./seccomp.json', import.meta.url), 'utf8')));
/** Writable places on the read-only root filesystem; tmpfs counts against the memory limit. */
const SANDBOX_TMPFS = { '/tmp': 'rw,nosuid,nodev,size=256m', '/run': 'rw,nosuid,nodev,size=16m' };
const MAX_EXEC_OUTPUT = 1024 * 1024;
/** org.berth.role of the disk measuring helper (diskUsage). */
const DISK_USAGE_ROLE = 'disk-usage';
/** `docker events --format '{{.Type}}'` prints one word per line. */
const MAX_EVENT_LINE = 256;
/** Time the nested engine gets to stop its own containers (which get 10 s) before a kill. */
const STOP_TIMEOUT_S = 15;

export interface DockerRuntimeOptions {
  instance: string;
  image: string;
  limits: SandboxLimits;
  docker?: Docker;
  /**
   * The catalog registry every sandbox uses as its Docker Hub mirror, started (or
   * adopted) by prepare() (default: on, port 5000, no pull-through upstream); false:
   * none. It outlives the server; removeNetwork() removes it with the instance.
   */
  registry?: { port: number; upstream: string; cacheMaxBytes?: number } | false;
  /** What sandboxes may reach on the network (runtime/firewall.ts); default: the registry only, metadata blocked. */
  firewall?: FirewallPolicy;
  /** OCI runtime for sandbox containers (HostConfig.Runtime), e.g. runc or sysbox-runc; default runc. */
  runtime?: string;
  /**
   * Where the sandbox network takes its subnet, and the pools of the nested engines
   * (runtime/address-pools.ts); default: the BERTH_SANDBOX_NETWORK_RANGE and
   * BERTH_NESTED_ADDRESS_POOLS defaults.
   */
  addresses?: { networkRange: string; nestedPools: AddressPool[] };
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
  private readonly registryOptions: { port: number; upstream: string; cacheMaxBytes: number } | false;
  private readonly firewall: FirewallPolicy;
  /** Answers sandboxes' DNS "no such name" when they may not reach the outside (runtime/offline-dns.ts). */
  offlineDns: OfflineDns | undefined;
  /** Why prepare() could not start it, when it could not. */
  offlineDnsError: string | undefined;
  private readonly ociRuntime: string;
  /** Name servers sandboxes get (the gateway, where the redirect catches them), unless egress is open. */
  private sandboxDns: string[] | undefined;
  /** Whether the engine confines containers with AppArmor (checked by prepare()). */
  private appArmor = false;
  private readonly addresses: { networkRange: string; nestedPools: AddressPool[] };
  /** The sandbox network's IPv4 subnet, once prepare() has made or found it. */
  sandboxSubnet: string | undefined;
  /** Set by prepare() when it had to keep a sandbox network outside the range (the server logs it). */
  networkWarning: string | undefined;

  constructor(opts: DockerRuntimeOptions) {
    this.docker = opts.docker ?? new Docker();
    this.instance = opts.instance;
    this.image = opts.image;
    this.limits = opts.limits;
    const registry = opts.registry ?? { port: 5000, upstream: '' };
    this.registryOptions = registry === false ? false : { cacheMaxBytes: DEFAULTS.registryCacheMax, ...registry };
    this.firewall = opts.firewall ?? { egress: DEFAULTS.sandboxEgress, blocked: DEFAULTS.blockedAddresses };
    this.ociRuntime = opts.runtime ?? 'runc';
    this.addresses = opts.addresses ?? { networkRange: DEFAULTS.sandboxNetworkRange, nestedPools: DEFAULTS.nestedAddressPools };
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
    const engine = (await this.docker.info()) as { Runtimes?: Record<string, unknown>; SecurityOptions?: string[] };
    if (!Object.hasOwn(engine.Runtimes ?? {}, this.ociRuntime)) {
      throw new Error(`the Docker engine has no runtime "${this.ociRuntime}" (BERTH_SANDBOX_RUNTIME); it has: ${Object.keys(engine.Runtimes ?? {}).join(', ')}`);
    }
    this.appArmor = (engine.SecurityOptions ?? []).some((o) => o.includes('name=apparmor'));
    await removeLeftoverHelpers(this.docker, this.instance, [DISK_USAGE_ROLE]);
    this.sandboxSubnet = await this.sandboxNetwork();
    // With egress off, sandboxes may reach the catalog only: no pull-through cache to start.
    const registry = this.registryOptions === false ? false : { port: this.registryOptions.port, upstream: this.firewall.egress === 'off' ? '' : this.registryOptions.upstream };
    const gateway = await networkGateway(this.docker, this.networkName);
    // Name servers named explicitly: with the engine's default, Docker's embedded DNS
    // forwards from the host's namespace when the host's resolver is on loopback
    // (dnsmasq, unbound, systemd-resolved), past the redirect below (libnetwork#1595).
    this.sandboxDns = this.firewall.egress === 'open' ? undefined : [gateway];
    // A container that outlives this process, so lookups fail at once while it is down too.
    this.offlineDns = undefined;
    this.offlineDnsError = undefined;
    if (this.firewall.egress === 'open') await removeOfflineDns(this.docker, this.instance);
    else {
      // Without it lookups fail slowly (the server warns), and no DNS is redirected to its port.
      this.offlineDns = await startOfflineDns({ docker: this.docker, instance: this.instance, gateway }).catch((err: unknown) => {
        this.offlineDnsError = (err as Error).message;
        return undefined;
      });
    }
    // The rules go in before anything (registry, sandbox) runs on the network; failing here stops the server.
    await applyFirewall(
      { docker: this.docker, image: this.image },
      {
        instance: this.instance,
        bridge: await this.bridgeInterface(),
        gateway,
        registryPorts: registry === false ? [] : registry.upstream ? [registry.port, registry.port + 1] : [registry.port],
        dnsPort: this.offlineDns?.port,
      },
      this.firewall,
    ).catch(async (err: unknown) => {
      // Refusing to start: leave nothing new running (an adopted one still serves the old rules).
      if (this.offlineDns && !this.offlineDns.adopted) await removeOfflineDns(this.docker, this.instance).catch(() => {});
      this.offlineDns = undefined;
      throw err;
    });
    if (registry !== false) {
      this.registry = await startRegistry({ docker: this.docker, instance: this.instance, network: this.networkName, ...registry });
      this.registryMirrors = this.registry.mirrors;
    }
    await this.removeStaleStopped();
  }

  /**
   * Finds or makes the sandbox network, on a subnet inside the configured range; returns
   * its subnet. A network an older Berth made elsewhere (from the engine's default pools,
   * which the nested engines use too) is made anew when no running container is on it.
   * With sandboxes running on it, it stays until the next server start that finds it free:
   * re-creating it would cut them off, as its gateway is their registry address.
   */
  private async sandboxNetwork(): Promise<string> {
    const range = this.addresses.networkRange;
    const existing = (await this.docker.listNetworks({ filters: labelFilter(this.instance, 'network') })).find((n) => n.Name === this.networkName);
    this.networkWarning = undefined;
    if (existing) {
      const info = (await this.docker.getNetwork(existing.Id).inspect()) as NetworkInfo;
      const subnet = ipv4Subnet(info);
      if (subnet && contains(range, subnet)) return subnet;
      const attached = Object.keys(info.Containers ?? {}).length;
      if (attached > 0 || !subnet) {
        this.networkWarning =
          `the sandbox network ${this.networkName} is on ${subnet ?? 'no IPv4 subnet'}, outside BERTH_SANDBOX_NETWORK_RANGE (${range}), ` +
          `and ${attached} container(s) run on it, so it is kept for now; learners' own networks may take its addresses and cut their sandbox off from the registry. ` +
          'It moves into the range at the next server start that finds no container on it.';
        return subnet ?? '';
      }
      await ignoreMissing(this.docker.getNetwork(existing.Id).remove());
    }
    const taken = (await this.docker.listNetworks()).flatMap((n) => (n.IPAM?.Config ?? []).map((c) => c.Subnet ?? '')).filter(isIpv4Range);
    for (const subnet of candidateSubnets(range)) {
      if (taken.some((t) => overlaps(t, subnet))) continue;
      try {
        await this.docker.createNetwork({
          Name: this.networkName,
          Driver: 'bridge',
          Labels: berthLabels(this.instance, 'network'),
          IPAM: { Driver: 'default', Config: [{ Subnet: subnet, Gateway: firstHost(subnet) }] },
          Options: {
            // Sandboxes share this bridge only to reach the registry (and, if allowed, the outside).
            'com.docker.network.bridge.enable_icc': 'false',
            // A name of our own, so the firewall rules read as what they are.
            'com.docker.network.bridge.name': bridgeNameFor(this.instance),
          },
        });
        return subnet;
      } catch (err) {
        // Another instance took it since we looked: try the next one.
        if (!/overlap/i.test((err as Error).message)) throw err;
      }
    }
    throw new Error(`no free /${subnetPrefix(range)} left in BERTH_SANDBOX_NETWORK_RANGE (${range}) for the sandbox network: widen the range, or remove networks other Berth instances left behind`);
  }

  /** What create() puts in a sandbox's environment about the network: the mirrors and the nested pools. */
  private networkEnv(): string[] {
    const env: string[] = [];
    if (this.registryMirrors.length) env.push(`BERTH_REGISTRY_MIRROR=${this.registryMirrors.join(',')}`);
    // A sandbox network kept outside the range may meet a pool: those pools are left out.
    const subnet = this.sandboxSubnet;
    const pools = this.addresses.nestedPools.filter((p) => !subnet || !overlaps(p.base, subnet));
    if (pools.length) env.push(`BERTH_ADDRESS_POOLS=${formatAddressPools(pools)}`);
    return env;
  }

  /**
   * Stopped sandboxes made with other network settings (a moved network: another
   * registry address) are removed; their learner's next start makes a new container on
   * the same volume, which holds everything (the root filesystem is read-only).
   */
  private async removeStaleStopped(): Promise<void> {
    const wanted = this.networkEnv();
    const isNetworkEnv = (e: string) => e.startsWith('BERTH_REGISTRY_MIRROR=') || e.startsWith('BERTH_ADDRESS_POOLS=');
    for (const s of await this.sandboxesMatching()) {
      if (s.running) continue;
      const info = await this.docker.getContainer(s.id).inspect().catch(() => undefined);
      const have = (info?.Config.Env ?? []).filter(isNetworkEnv);
      if (!info || (have.length === wanted.length && wanted.every((e) => have.includes(e)))) continue;
      await ignoreMissing(this.docker.getContainer(s.id).remove({ v: true }));
    }
  }

  /** The host interface of the sandbox bridge (networks made before Berth named it have Docker's br-<id>). */
  private async bridgeInterface(): Promise<string> {
    const info = (await this.docker.getNetwork(this.networkName).inspect()) as { Id: string; Options?: Record<string, string> };
    return info.Options?.['com.docker.network.bridge.name'] ?? `br-${info.Id.slice(0, 12)}`;
  }

  /**
   * Removes the instance's catalog registry, networks, name server and firewall rules,
   * for when the instance goes away (after its sandboxes). A stopping server keeps them
   * all: sandboxes outlive the server process, pull and look names up while it is
   * down, and the rules must keep guarding them; so does this, for the name server and
   * the rules, while any sandbox container is left.
   */
  async removeNetwork(): Promise<void> {
    let failure: unknown;
    await removeLeftoverHelpers(this.docker, this.instance, [DISK_USAGE_ROLE]).catch((err: unknown) => (failure ??= err));
    // The registries sit on the instance's networks: they go first.
    await removeRegistry(this.docker, this.instance).catch((err: unknown) => (failure ??= err));
    this.registry = undefined;
    for (const n of await this.docker.listNetworks({ filters: labelFilter(this.instance, 'network') })) {
      await ignoreMissing(this.docker.getNetwork(n.Id).remove()).catch((err: unknown) => (failure ??= err));
    }
    if ((await this.sandboxesMatching()).length === 0) {
      await removeOfflineDns(this.docker, this.instance).catch((err: unknown) => (failure ??= err));
      this.offlineDns = undefined;
      await removeFirewall({ docker: this.docker, image: this.image }, this.instance);
    }
    if (failure) throw failure;
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
      imageId: c.ImageID,
    }));
  }

  async replaceIfOutdated(info: SandboxInfo): Promise<boolean> {
    if (info.running || !info.imageId) return false;
    // The tag's image now (`npm run images` may have rebuilt it while the server runs).
    const current = await this.docker.getImage(this.image).inspect().then((i) => i.Id, () => undefined);
    if (!current || current === info.imageId) return false;
    // Only the container goes: the learner's disk is its named volume, the root filesystem is read-only.
    await ignoreMissing(this.docker.getContainer(info.id).remove({ v: true }));
    return true;
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
    const nofile = this.limits.nofile ?? DEFAULTS.sandboxNofile;
    const env = [`BERTH_DISK_SIZE=${this.limits.diskBytes ?? DEFAULTS.sandboxDisk}`, ...this.networkEnv()];
    const container = await this.docker.createContainer({
      name: this.containerName(learner),
      Image: this.image,
      Hostname: 'berth',
      // PID 1 (berth-init) starts as root only to mount the sandbox's disk, then becomes
      // the learner for good; every exec below becomes the learner at once (asLearner).
      User: 'root',
      Labels: berthLabels(this.instance, 'sandbox', learner),
      Env: env,
      StopTimeout: STOP_TIMEOUT_S,
      HostConfig: {
        Runtime: this.ociRuntime,
        // Nothing but what newuidmap/newgidmap and berth-init need (capabilities.ts);
        // the learner's processes have none, not even in their bounding set.
        CapDrop: ['ALL'],
        CapAdd: [...SANDBOX_CAPABILITIES],
        // Docker's default seccomp profile plus pivot_root and chroot, minus the kernel
        // surface CAP_SYS_ADMIN would open (seccomp.json).
        // AppArmor's docker-default profile forbids mount(2), which berth-init and
        // rootlesskit need: unconfined on engines that use AppArmor, absent otherwise.
        SecurityOpt: [`seccomp=${SECCOMP_PROFILE}`, ...(this.appArmor ? ['apparmor=unconfined'] : [])],
        // Unmasked /proc and /sys (the API form of systempaths=unconfined): the kernel
        // refuses the nested containers' fresh procfs/sysfs mounts while any path of
        // the outer ones is covered (mount_too_revealing). Tried, path by path.
        MaskedPaths: [],
        ReadonlyPaths: [],
        Devices: [{ PathOnHost: '/dev/net/tun', PathInContainer: '/dev/net/tun', CgroupPermissions: 'rwm' }],
        // /dev/loop-control and loop devices, for berth-init to attach the disk image
        // (it removes the nodes it made; the learner has no CAP_MKNOD to make more).
        DeviceCgroupRules: ['c 10:237 rwm', 'b 7:* rwm'],
        Mounts: [{ Type: 'volume', Source: volume, Target: DISK_STORE_PATH }],
        // Nothing writes to the image's layer: what the learner writes goes to the
        // bounded disk, or to these small tmpfs.
        ReadonlyRootfs: true,
        Tmpfs: SANDBOX_TMPFS,
        Ulimits: [{ Name: 'nofile', Soft: nofile, Hard: nofile }],
        Memory: memory,
        MemorySwap: memory, // equal to Memory: no swap
        NanoCpus: Math.round(this.limits.cpus * 1e9),
        PidsLimit: this.limits.pids,
        NetworkMode: this.networkName,
        ...(this.sandboxDns ? { Dns: this.sandboxDns } : {}),
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
      if ((err as { statusCode?: number }).statusCode === 304) return; // already running
      if (/setting rlimit type 7/.test((err as Error).message)) {
        // runc may lower the engine's own nofile limit, never raise it.
        throw new Error(`BERTH_SANDBOX_NOFILE (${this.limits.nofile ?? DEFAULTS.sandboxNofile}) is above the Docker engine's own open-files limit: lower it, or raise dockerd's (LimitNOFILE)`, { cause: err });
      }
      throw err;
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

  async exec(id: string, cmd: string[], timeoutMs: number, as: ExecUser = 'learner'): Promise<ExecResult> {
    const exec = await this.docker.getContainer(id).exec({
      ...(as === 'checker' ? asChecker(cmd) : asLearner(cmd)),
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
      ...asLearner(['bash', '-c', "exec docker events --format '{{.Type}}'"]),
      AttachStdout: true,
      AttachStderr: false,
    });
    const stream = await exec.start({ hijack: true, stdin: false });
    const stdout = new PassThrough();
    this.docker.modem.demuxStream(stream, stdout, new PassThrough());
    // The learner can answer in the engine's place: a line longer than any event type is abuse.
    const lines = new CappedLines(MAX_EVENT_LINE, (line) => {
      if (line.trim()) onEvent(line.trim().slice(0, 40));
    });
    stdout.on('data', (chunk: Buffer) => {
      if (!lines.push(chunk)) stream.destroy();
    });
    stream.on('error', () => {});
    return () => stream.destroy();
  }

  /**
   * The learner's login shell runs under dtach, so it outlives the server: a restarted
   * server attaches to the same shell (same jobs, variables, directory) instead of
   * starting another. Attach clients left by a previous server (exec'd processes have
   * parent 0) are ended first, so only one client ever feeds the shell.
   */
  async openShell(id: string, cols: number, rows: number, lang?: 'ko' | 'en'): Promise<Shell> {
    // BERTH_LANG picks the greeting's language (images/sandbox/profile.sh); only the two known values pass.
    const langEnv = lang === 'ko' || lang === 'en' ? [`BERTH_LANG=${lang}`] : [];
    const exec = await this.docker.getContainer(id).exec({
      ...asLearner(['bash', '-c', ATTACH_SHELL], [`COLUMNS=${cols}`, `LINES=${rows}`, ...langEnv]),
      AttachStdin: true,
      AttachStdout: true,
      AttachStderr: true,
      Tty: true,
    });
    const raw = await startWithin(exec.start({ hijack: true, stdin: true, Tty: true }), SHELL_START_TIMEOUT_MS);
    const stream = new WithoutLeadingBytes(raw, DTACH_CLEAR_SCREEN);
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

  /**
   * Measures the engine host's disk from a throwaway helper container (the server
   * need not be root, nor on the engine's host): `df` of the filesystem under the
   * engine's volumes, and `du` (allocated blocks: the disk images are sparse) of each
   * of this instance's sandbox data volumes. Read-only bind, no network, one capability.
   */
  async diskUsage(): Promise<DiskUsage> {
    const { DockerRootDir } = (await this.docker.info()) as { DockerRootDir: string };
    const prefix = this.volumeName('');
    const script = [
      'df -B1 --output=size,avail /v | tail -n 1',
      `for d in /v/${prefix}*/ /v/${cacheName(this.instance)}/; do [ -d "$d" ] || continue; n=\${d%/}; printf '%s %s\n' "\${n##*/}" "$(du -s -x -B1 "$d" | cut -f1)"; done`,
    ].join('; ');
    const result = await runHelperContainer({
      docker: this.docker,
      image: this.image,
      instance: this.instance,
      role: DISK_USAGE_ROLE,
      script,
      hostConfig: {
        NetworkMode: 'none',
        CapDrop: ['ALL'],
        CapAdd: ['DAC_READ_SEARCH'], // du reads every learner's files, root-owned or not
        ReadonlyRootfs: true,
        Mounts: [{ Type: 'bind', Source: `${DockerRootDir}/volumes`, Target: '/v', ReadOnly: true }],
      },
    });
    if (result.exitCode !== 0) throw new Error(`disk usage helper failed (${result.exitCode}): ${result.stderr.slice(0, 300)}`);
    return parseDiskUsage(result.stdout, await this.listVolumes(), cacheName(this.instance));
  }

  /** A pull-through cache past its size is emptied (learners' next pulls fill it again). */
  async limitCaches(usage: DiskUsage): Promise<void> {
    const registry = this.registryOptions;
    if (registry === false || !registry.upstream || this.firewall.egress === 'off') return;
    if ((usage.cacheBytes ?? 0) <= registry.cacheMaxBytes) return;
    await emptyRegistryCache({ docker: this.docker, instance: this.instance, network: this.networkName, port: registry.port, upstream: registry.upstream });
    this.onCacheEmptied?.(usage.cacheBytes ?? 0);
  }

  /** Told when limitCaches emptied the cache (for the log). */
  onCacheEmptied: ((bytes: number) => void) | undefined;

  async logsTail(id: string, lines: number): Promise<string> {
    try {
      const buf = (await this.docker.getContainer(id).logs({ stdout: true, stderr: true, tail: lines })) as unknown as Buffer;
      return stripDockerLogHeaders(buf);
    } catch {
      return '';
    }
  }
}

/** The helper's output: `size avail` of the filesystem, then `volume bytes` lines; learners from the volume list. */
export function parseDiskUsage(stdout: string, volumes: VolumeInfo[], cacheVolume?: string): DiskUsage {
  const [head = '', ...rest] = stdout.trim().split('\n');
  const fs = /^\s*(\d+)\s+(\d+)\s*$/.exec(head);
  if (!fs) throw new Error(`unexpected df output: ${head.slice(0, 100)}`);
  const learnerOf = new Map(volumes.map((v) => [v.name, v.learner]));
  const used = new Map<string, number>();
  let cacheBytes: number | undefined;
  for (const line of rest) {
    const m = /^(\S+) (\d+)$/.exec(line.trim());
    if (m && m[1] === cacheVolume) cacheBytes = Number(m[2]);
    const learner = m && learnerOf.get(m[1]!);
    if (learner) used.set(learner, Number(m[2]));
  }
  return { sizeBytes: Number(fs[1]), freeBytes: Number(fs[2]), volumes: used, ...(cacheBytes === undefined ? {} : { cacheBytes }) };
}

/**
 * Options for a `docker exec` of `cmd` as the learner, with no capability at all: Docker
 * gives an exec the container's whole bounding set (the capabilities berth-init needs),
 * which a setuid or file-capability program started from it would get. So the exec
 * starts as root only to run setpriv, which empties the bounding set, sets no_new_privs
 * (setuid bits and file capabilities then do nothing: only the engine, which berth-init
 * starts, needs newuidmap/newgidmap) and becomes the learner; env -C then enters the
 * home directory as the learner (it is mode 700, and root here has no DAC_OVERRIDE).
 */
/**
 * The same for the checker: its own uid (the learner can neither signal nor trace
 * its processes, nor open their descriptors), and one capability, DAC_READ_SEARCH,
 * so it reads the learner's files whatever their modes (the nested engine's
 * volumes are mode 701; a check must see what the learner sees). The sandbox's
 * seccomp profile denies open_by_handle_at, the one way that capability could
 * reach files outside the container. Checks reach the engine through the engine
 * proxy only (exercises/compile.ts).
 */
function asChecker(cmd: string[]): { Cmd: string[]; User: string; WorkingDir: string; Env: string[] } {
  const cap = 'dac_read_search';
  return {
    Cmd: ['/usr/bin/setpriv', `--reuid=${CHECK_USER}`, `--regid=${CHECK_USER}`, '--clear-groups', `--inh-caps=-all,+${cap}`, `--ambient-caps=+${cap}`, `--bounding-set=-all,+${cap}`, '--no-new-privs', '--', ...cmd],
    User: 'root',
    WorkingDir: '/',
    Env: ['HOME=/nonexistent', `USER=${CHECK_USER}`, `LOGNAME=${CHECK_USER}`],
  };
}

function asLearner(cmd: string[], env: string[] = []): { Cmd: string[]; User: string; WorkingDir: string; Env: string[] } {
  return {
    Cmd: ['/usr/bin/setpriv', `--reuid=${SANDBOX_USER}`, `--regid=${SANDBOX_USER}`, '--init-groups', '--inh-caps=-all', '--bounding-set=-all', '--no-new-privs', '--', '/usr/bin/env', '-C', SANDBOX_HOME, ...cmd],
    User: 'root',
    WorkingDir: '/',
    Env: [`HOME=${SANDBOX_HOME}`, `USER=${SANDBOX_USER}`, `LOGNAME=${SANDBOX_USER}`, ...env],
  };
}

/** An exec into a container that is being killed can hang; the caller then sees an error. */
const SHELL_START_TIMEOUT_MS = 15_000;

/** The started exec's stream, or an error after `ms` (a stream that comes later is destroyed). */
async function startWithin(start: Promise<Duplex>, ms: number): Promise<Duplex> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      start.then((late) => late.destroy(), () => {});
      reject(new Error(`the shell did not start within ${ms / 1000} s`));
    }, ms);
  });
  try {
    return await Promise.race([start, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Where the shell's dtach socket lives (the runtime dir is reset at every sandbox start). */
const SHELL_SOCKET = '$XDG_RUNTIME_DIR/berth-shell';
const ATTACH_SHELL = [
  'for p in $(pgrep -x dtach); do [ "$(ps -o ppid= -p "$p" | tr -d " ")" = 0 ] && kill "$p"; done',
  // -E: no detach key, -z: no suspend key (every key belongs to the learner); -r winch: redraw on attach.
  `command -v dtach >/dev/null || exec bash -l`, // an older sandbox image: a plain shell
  `exec dtach -A "${SHELL_SOCKET}" -E -z -r winch bash -l`,
].join('; ');
/** dtach clears the screen when it attaches; the page keeps its screen (and replayed scrollback) instead. */
const DTACH_CLEAR_SCREEN = Buffer.from('\x1b[H\x1b[J');

/**
 * The same duplex, minus `prefix` if the first bytes it reads are exactly that.
 * Backpressure passes through (the raw stream pauses while this one is full), and
 * destroy() ends both without an error, as on the raw socket.
 */
export class WithoutLeadingBytes extends Duplex {
  private head: Buffer | undefined = Buffer.alloc(0);
  private readonly raw: Duplex;
  private readonly prefix: Buffer;

  constructor(raw: Duplex, prefix: Buffer) {
    super();
    this.raw = raw;
    this.prefix = prefix;
    raw.on('data', (chunk: Buffer) => {
      const out = this.strip(chunk);
      if (out.length > 0 && !this.push(out)) raw.pause();
    });
    raw.on('end', () => this.push(null));
    raw.on('error', (err) => this.destroy(err));
    raw.on('close', () => this.destroy());
  }

  private strip(chunk: Buffer): Buffer {
    if (!this.head) return chunk;
    const head = Buffer.concat([this.head, chunk]);
    if (head.length < this.prefix.length && this.prefix.subarray(0, head.length).equals(head)) {
      this.head = head;
      return Buffer.alloc(0);
    }
    this.head = undefined;
    return head.subarray(0, this.prefix.length).equals(this.prefix) ? head.subarray(this.prefix.length) : head;
  }

  override _read(): void {
    this.raw.resume();
  }

  override _write(chunk: Buffer, encoding: BufferEncoding, done: (err?: Error | null) => void): void {
    this.raw.write(chunk, encoding, done);
  }

  override _final(done: (err?: Error | null) => void): void {
    this.raw.end();
    done();
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    this.raw.destroy();
    done(err);
  }
}

interface NetworkInfo {
  IPAM?: { Config?: { Subnet?: string }[] };
  Containers?: Record<string, unknown>;
}

function ipv4Subnet(info: NetworkInfo): string | undefined {
  return info.IPAM?.Config?.map((c) => c.Subnet ?? '').find(isIpv4Range);
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
