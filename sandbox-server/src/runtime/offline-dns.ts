/**
 * The name server sandboxes get when they may not reach the outside (egress `off`
 * or `registry`): it answers every query "no such name" at once, over UDP and TCP.
 *
 * Why: Docker's embedded DNS (127.0.0.11 in each sandbox) forwards names it does not
 * know to the host's resolvers, and when the firewall refuses that, it never answers:
 * every lookup of an outside name (the nested engine falling back to Docker Hub for an
 * image the catalog lacks, `curl example.com`) hangs 10-20 s before failing. The
 * firewall redirects sandboxes' DNS here instead (runtime/firewall.ts), so the learner
 * sees what a machine without internet shows: `lookup registry-1.docker.io ...: no
 * such host`. It also closes DNS as a way out: no query leaves the host.
 *
 * It is a container of its own, `berth-<instance>-dns` (image berth/dns, images/dns:
 * dnsmasq), not part of the server: running sandboxes look names up while the server
 * restarts or after it crashed. It runs on the host's network namespace, listening on
 * the sandbox bridge's gateway address only, as nobody with no capability, a
 * read-only root and small limits; restarted by the engine, adopted by the next server
 * start when unchanged (runtime/service-container.ts), removed with the instance.
 */
import type Docker from 'dockerode';
import { LABEL } from './labels.ts';
import { ensureService, removeServices } from './service-container.ts';

export const DNS_IMAGE = 'berth/dns:latest';
/** UDP and TCP, on the gateway address only; above 1024, so binding it needs no capability. */
export const OFFLINE_DNS_PORT = 5053;
const READY_TIMEOUT_MS = 10_000;

export interface OfflineDns {
  /** The port it listens on (UDP and TCP) at the sandbox bridge's gateway address. */
  port: number;
  container: string;
  /** True when a running container from an earlier start was kept. */
  adopted: boolean;
}

export class OfflineDnsError extends Error {
  override name = 'OfflineDnsError';
}

function identity(instance: string): Record<string, string> {
  return { [LABEL.managed]: 'true', [LABEL.instance]: instance, [LABEL.role]: 'dns' };
}

export interface OfflineDnsOptions {
  docker: Docker;
  instance: string;
  /** The sandbox bridge's gateway (an address of the engine's host). */
  gateway: string;
  image?: string;
}

/** Starts the instance's name server, or adopts the one already running with the same image and settings. */
export async function startOfflineDns(opts: OfflineDnsOptions): Promise<OfflineDns> {
  const { docker, instance, gateway } = opts;
  const image = opts.image ?? DNS_IMAGE;
  try {
    await docker.getImage(image).inspect();
  } catch {
    throw new OfflineDnsError(`the name server image ${image} is missing; build it with: npm run images`);
  }
  const name = `berth-${instance}-dns`;
  const { id, adopted } = await ensureService(docker, identity(instance), {
    name,
    Image: image,
    // Appended to the image's dnsmasq command line (images/dns/Dockerfile).
    Cmd: [`--listen-address=${gateway}`, `--port=${OFFLINE_DNS_PORT}`],
    HostConfig: {
      NetworkMode: 'host',
      ReadonlyRootfs: true,
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      Memory: 32 * 1024 * 1024,
      MemorySwap: 32 * 1024 * 1024,
      // dnsmasq forks a child per TCP connection (at most 20 at once).
      PidsLimit: 32,
      // Back by itself after an engine restart or a crash; only the instance's removal stops it.
      RestartPolicy: { Name: 'unless-stopped' },
      LogConfig: { Type: 'json-file', Config: { 'max-size': '1m', 'max-file': '1' } },
    },
  });
  if (!adopted) await waitForListening(docker, id, instance, gateway);
  return { port: OFFLINE_DNS_PORT, container: name, adopted };
}

/** dnsmasq logs "started" once its sockets are bound, and exits at once when it cannot bind them. */
async function waitForListening(docker: Docker, id: string, instance: string, gateway: string): Promise<void> {
  const container = docker.getContainer(id);
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const logs = ((await container.logs({ stdout: true, stderr: true })) as unknown as Buffer).toString('utf8');
    if (/dnsmasq\[\d+\]: started/.test(logs)) return;
    const { State } = await container.inspect();
    if (!State.Running || State.Restarting || Date.now() > deadline) {
      const why = /dnsmasq: (.*)/.exec(logs)?.[1]?.trim(); // its fatal error, e.g. "failed to create listening socket for ..."
      await removeOfflineDns(docker, instance).catch(() => {});
      throw new OfflineDnsError(`the name server berth-${instance}-dns could not listen on ${gateway}:${OFFLINE_DNS_PORT} (UDP and TCP): ${why || `state ${State.Status}`}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Removes the instance's name server (for when the instance goes away, or egress becomes open). */
export async function removeOfflineDns(docker: Docker, instance: string): Promise<void> {
  await removeServices(docker, identity(instance));
}
