/**
 * The lesson image catalog, served to sandboxes: a read-only registry container that
 * every sandbox's nested engine uses as its Docker Hub mirror, so `docker pull nginx`,
 * `docker run hello-world`, `FROM debian:trixie-slim` and `docker compose up` work with
 * no internet. Optionally a second registry, a pull-through cache of an upstream (Docker
 * Hub), for images outside the catalog: sandboxes list it after the catalog, and the
 * engine only asks the next mirror when one answers 404, so a catalog image always wins.
 *
 * Topology (see images/README.md, "The catalog registry"):
 *  - The catalog's storage is the engine-wide volume `berth-catalog`, written only by
 *    `npm run images` through a registry published on the host's 127.0.0.1.
 *  - Each Berth instance runs `berth-<instance>-registry` on a network of its own,
 *    `berth-<instance>-registries` (the sandbox bridge carries only sandboxes, so its
 *    firewall rules, runtime/firewall.ts, are about sandboxes alone: the cache needs
 *    the internet, sandboxes may not have it), with the volume mounted read-only and
 *    distribution's read-only mode on, published on the sandbox bridge's gateway
 *    address only. Sandboxes reach it there through the host (Docker's proxy), the one
 *    host port their firewall rules open; no sandbox reaches its own address.
 *  - Labelled like sandboxes. They outlive the server, so sandboxes pull while it
 *    restarts: a start adopts the running ones made from the same image and settings
 *    and replaces any other (they hold no state; runtime/service-container.ts). They
 *    go with the instance (DockerRuntime.removeNetwork()).
 */
import type Docker from 'dockerode';
import { LABEL, berthLabels, labelFilter } from './runtime/labels.ts';
import { ensureService, removeServices } from './runtime/service-container.ts';

export const CATALOG_VOLUME = 'berth-catalog';
export const REGISTRY_IMAGE = 'berth/registry:latest';
const REGISTRY_PORT_IN_CONTAINER = '5000/tcp';
const STORAGE = '/var/lib/registry';

export type RegistryRole = 'registry' | 'registry-cache';

/** The pull-through cache's container and its volume share this name. */
export const cacheName = (instance: string): string => `berth-${instance}-registry-cache`;

export function registryLabels(instance: string, role: RegistryRole, extra: Record<string, string> = {}): Record<string, string> {
  return {
    [LABEL.managed]: 'true',
    [LABEL.instance]: instance,
    [LABEL.role]: role,
    [LABEL.created]: new Date().toISOString(),
    ...extra,
  };
}

function roleFilter(instance: string, role: RegistryRole): { label: string[] } {
  return { label: [`${LABEL.managed}=true`, `${LABEL.instance}=${instance}`, `${LABEL.role}=${role}`] };
}

function identity(instance: string, role: RegistryRole): Record<string, string> {
  return { [LABEL.managed]: 'true', [LABEL.instance]: instance, [LABEL.role]: role };
}

/** The mirror list a sandbox gets: the catalog first, then the optional cache. */
export function mirrorUrls(gateway: string, port: number, withCache: boolean): string[] {
  const urls = [`http://${gateway}:${port}`];
  if (withCache) urls.push(`http://${gateway}:${port + 1}`);
  return urls;
}

export interface RegistryOptions {
  docker: Docker;
  instance: string;
  /** The sandbox bridge network, whose gateway the registry is published on (must exist: DockerRuntime.prepare() makes it). */
  network: string;
  /** Port on the bridge's gateway address; the cache, if any, takes port + 1. */
  port: number;
  /** Pull-through cache upstream (e.g. https://registry-1.docker.io); '' for none. */
  upstream: string;
  image?: string;
  /** How long to wait for each registry to answer. */
  readyTimeoutMs?: number;
}

export interface Registry {
  /** Registry mirror URLs for sandboxes, in the order their engine tries them. */
  mirrors: string[];
  gateway: string;
  /** Container names, catalog first. */
  containers: string[];
}

export class RegistryError extends Error {
  override name = 'RegistryError';
}

/** The gateway address of a bridge network (the host's address on it). */
export async function networkGateway(docker: Docker, network: string): Promise<string> {
  const info = (await docker.getNetwork(network).inspect()) as { IPAM?: { Config?: { Gateway?: string }[] } };
  const gateway = info.IPAM?.Config?.find((c) => c.Gateway && !c.Gateway.includes(':'))?.Gateway;
  if (!gateway) throw new RegistryError(`network ${network} reports no IPv4 gateway; the catalog registry is published there`);
  return gateway;
}

/** Removes this instance's registry containers (and, with volumes: true, its cache volume). */
export async function removeRegistry(docker: Docker, instance: string, opts: { volumes?: boolean } = {}): Promise<void> {
  for (const role of ['registry', 'registry-cache'] as const) await removeServices(docker, identity(instance, role));
  if (opts.volumes) {
    const { Volumes } = await docker.listVolumes({ filters: roleFilter(instance, 'registry-cache') });
    for (const v of Volumes ?? []) await ignoreMissing(docker.getVolume(v.Name).remove());
  }
}

/**
 * Makes this instance's registries (keeping unchanged ones from an earlier run,
 * replacing any other) and waits until they answer on the gateway address. Throws
 * RegistryError with the fix when the catalog or the registry image is missing.
 */
export async function startRegistry(opts: RegistryOptions): Promise<Registry> {
  const { docker, instance } = opts;
  const image = opts.image ?? REGISTRY_IMAGE;
  const timeout = opts.readyTimeoutMs ?? 20_000;
  try {
    await docker.getVolume(CATALOG_VOLUME).inspect();
  } catch {
    throw new RegistryError(`the image catalog (volume ${CATALOG_VOLUME}) is missing; build and push it with: npm run images`);
  }
  try {
    await docker.getImage(image).inspect();
  } catch {
    throw new RegistryError(`registry image ${image} is missing; build it with: npm run images`);
  }
  const gateway = await networkGateway(docker, opts.network);
  const network = await registryNetwork(docker, instance);

  const containers: string[] = [];
  try {
    const catalog = `berth-${instance}-registry`;
    await runRegistry(docker, {
      name: catalog,
      image,
      role: 'registry',
      instance,
      network,
      gateway,
      port: opts.port,
      cmd: ['serve-readonly'],
      // Read-only twice: the registry's own read-only mode, and a read-only mount.
      mount: { Type: 'volume', Source: CATALOG_VOLUME, Target: STORAGE, ReadOnly: true },
      env: [],
    });
    containers.push(catalog);
    await waitForRegistry(`http://${gateway}:${opts.port}`, timeout, catalog);

    if (!opts.upstream) await removeServices(docker, identity(instance, 'registry-cache'));
    else {
      const cache = cacheName(instance);
      const volume = await cacheVolume(docker, instance, opts.upstream);
      await runRegistry(docker, {
        name: cache,
        image,
        role: 'registry-cache',
        instance,
        network,
        gateway,
        port: opts.port + 1,
        cmd: ['serve-proxy'],
        mount: { Type: 'volume', Source: volume, Target: STORAGE, ReadOnly: false },
        env: [`REGISTRY_PROXY_REMOTEURL=${opts.upstream}`],
      });
      containers.push(cache);
      await waitForRegistry(`http://${gateway}:${opts.port + 1}`, timeout, cache);
    }
  } catch (err) {
    await removeRegistry(docker, instance).catch(() => {});
    throw err;
  }
  return { mirrors: mirrorUrls(gateway, opts.port, opts.upstream !== ''), gateway, containers };
}

/**
 * Empties the pull-through cache: its container and volume go, and a fresh pair is
 * made like at start (a cache holds nothing that the upstream does not). The catalog
 * registry is not touched.
 */
export async function emptyRegistryCache(opts: RegistryOptions): Promise<void> {
  await removeServices(opts.docker, identity(opts.instance, 'registry-cache'));
  await ignoreMissing(opts.docker.getVolume(cacheName(opts.instance)).remove());
  await startRegistry(opts);
}

/** The registries' own network (made once; labelled like the sandbox network, so it goes with it). */
async function registryNetwork(docker: Docker, instance: string): Promise<string> {
  const name = `berth-${instance}-registries`;
  const existing = await docker.listNetworks({ filters: labelFilter(instance, 'network') });
  if (!existing.some((n) => n.Name === name)) await docker.createNetwork({ Name: name, Driver: 'bridge', Labels: berthLabels(instance, 'network') });
  return name;
}

/** The cache volume for this upstream; one cached from another upstream is replaced. */
async function cacheVolume(docker: Docker, instance: string, upstream: string): Promise<string> {
  const name = cacheName(instance);
  const UPSTREAM_LABEL = 'org.berth.registry-upstream';
  try {
    const info = await docker.getVolume(name).inspect();
    if (info.Labels?.[UPSTREAM_LABEL] === upstream) return name;
    await removeServices(docker, identity(instance, 'registry-cache')); // it uses the volume
    await docker.getVolume(name).remove();
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode !== 404) throw err;
  }
  await docker.createVolume({ Name: name, Labels: registryLabels(instance, 'registry-cache', { [UPSTREAM_LABEL]: upstream }) });
  return name;
}

interface RunSpec {
  name: string;
  image: string;
  role: RegistryRole;
  instance: string;
  network: string;
  gateway: string;
  port: number;
  cmd: string[];
  mount: { Type: 'volume'; Source: string; Target: string; ReadOnly: boolean };
  env: string[];
}

/** Starts the registry container, or keeps the running one made the same way. */
async function runRegistry(docker: Docker, spec: RunSpec): Promise<void> {
  try {
    await ensureService(docker, identity(spec.instance, spec.role), {
      name: spec.name,
      Image: spec.image,
      Cmd: spec.cmd,
      Env: spec.env,
      ExposedPorts: { [REGISTRY_PORT_IN_CONTAINER]: {} },
      HostConfig: {
        NetworkMode: spec.network,
        // Only on the sandbox bridge's gateway address: not on the host's other addresses.
        PortBindings: { [REGISTRY_PORT_IN_CONTAINER]: [{ HostIp: spec.gateway, HostPort: String(spec.port) }] },
        Mounts: [spec.mount],
        ReadonlyRootfs: true,
        CapDrop: ['ALL'],
        SecurityOpt: ['no-new-privileges'],
        Memory: 256 * 1024 * 1024,
        PidsLimit: 256,
        // Back by itself after an engine restart, as sandboxes need it to pull; it goes with the instance.
        RestartPolicy: { Name: 'unless-stopped' },
        LogConfig: { Type: 'json-file', Config: { 'max-size': '1m', 'max-file': '1' } },
      },
    });
  } catch (err) {
    const message = (err as Error).message;
    if (/address already in use|port is already allocated/i.test(message)) {
      throw new RegistryError(`cannot publish the registry on ${spec.gateway}:${spec.port}: the port is taken on the host; choose another with BERTH_REGISTRY_PORT (${message.trim()})`);
    }
    throw err;
  }
}

async function waitForRegistry(base: string, timeoutMs: number, name: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      const res = await fetch(`${base}/v2/`, { signal: AbortSignal.timeout(2000) });
      if (res.ok) return;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() > deadline) throw new RegistryError(`registry ${name} did not answer at ${base} within ${timeoutMs / 1000} s (${last})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function ignoreMissing(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (err) {
    const code = (err as { statusCode?: number }).statusCode;
    if (code !== 404 && code !== 409) throw err;
  }
}
