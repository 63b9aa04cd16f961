/**
 * Long-lived containers beside the sandboxes: the offline name server
 * (runtime/offline-dns.ts) and the catalog registry (registry.ts). Running sandboxes
 * need them while the Berth server is down (a restart, a crash), so they outlive it.
 * At every start the server adopts the container that already runs exactly what it
 * wants (same image ID, same settings: a hash of both, kept in a label) and replaces
 * any other container of that role; they go only with the instance.
 */
import { createHash } from 'node:crypto';
import type Docker from 'dockerode';
import { LABEL } from './labels.ts';

export interface ServiceOptions extends Docker.ContainerCreateOptions {
  name: string;
  Image: string;
}

/** A hash of what the container is made from: its create options and its image's ID (the image must exist). */
async function specHash(docker: Docker, create: ServiceOptions): Promise<string> {
  const image = await docker.getImage(create.Image).inspect();
  return createHash('sha256').update(JSON.stringify({ ...create, Image: image.Id })).digest('hex').slice(0, 32);
}

function filterFor(identity: Record<string, string>): { label: string[] } {
  return { label: Object.entries(identity).map(([k, v]) => `${k}=${v}`) };
}

/**
 * Makes sure exactly one container with these identity labels (managed, instance,
 * role) runs, created from `create`: the running one with the same spec is kept
 * (adopted: true), every other one is removed and a fresh one started.
 */
export async function ensureService(docker: Docker, identity: Record<string, string>, create: ServiceOptions): Promise<{ id: string; adopted: boolean }> {
  const spec = await specHash(docker, create);
  let keep: string | undefined;
  for (const c of await docker.listContainers({ all: true, filters: filterFor(identity) })) {
    if (!keep && c.State === 'running' && c.Labels[LABEL.spec] === spec && c.Names.includes(`/${create.name}`)) {
      keep = c.Id;
      continue;
    }
    await removeContainer(docker, c.Id);
  }
  if (keep) return { id: keep, adopted: true };
  const container = await docker.createContainer({
    ...create,
    Labels: { ...create.Labels, ...identity, [LABEL.created]: new Date().toISOString(), [LABEL.spec]: spec },
  });
  try {
    await container.start();
  } catch (err) {
    await removeContainer(docker, container.id).catch(() => {});
    throw err;
  }
  return { id: container.id, adopted: false };
}

/** Removes every container with these identity labels (with its anonymous volumes). */
export async function removeServices(docker: Docker, identity: Record<string, string>): Promise<void> {
  for (const c of await docker.listContainers({ all: true, filters: filterFor(identity) })) await removeContainer(docker, c.Id);
}

async function removeContainer(docker: Docker, id: string): Promise<void> {
  try {
    await docker.getContainer(id).remove({ force: true, v: true });
  } catch (err) {
    const code = (err as { statusCode?: number }).statusCode;
    if (code !== 404 && code !== 409) throw err; // gone, or already being removed
  }
}
