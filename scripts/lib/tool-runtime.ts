/**
 * A private sandbox environment for the authoring tools (lesson verifier, block
 * runner): its own instance name, network and catalog registry, like a server's,
 * and removed again by `close()`.
 */
import { randomBytes } from 'node:crypto';
import { loadConfig } from '../../sandbox-server/src/config.ts';
import { DockerRuntime } from '../../sandbox-server/src/runtime/docker.ts';
import { labelFilter } from '../../sandbox-server/src/runtime/labels.ts';
import { startRegistry } from '../../sandbox-server/src/registry.ts';

export interface ToolRuntime {
  runtime: DockerRuntime;
  close(): Promise<void>;
}

export async function startToolRuntime(prefix: string, image: string): Promise<ToolRuntime> {
  const defaults = loadConfig({});
  const instance = `${prefix}-${randomBytes(4).toString('hex')}`;
  const runtime = new DockerRuntime({
    instance,
    image,
    limits: { memoryBytes: defaults.sandboxMemory, cpus: defaults.sandboxCpus, pids: defaults.sandboxPids },
  });
  await runtime.prepare();
  const registry = await startRegistry({
    docker: runtime.docker,
    instance,
    network: runtime.networkName,
    port: defaults.registryPort,
    upstream: '',
  });
  runtime.registryMirrors = registry.mirrors;
  return {
    runtime,
    async close() {
      await registry.close().catch(() => {});
      const docker = runtime.docker;
      for (const n of await docker.listNetworks({ filters: labelFilter(instance, 'network') })) await docker.getNetwork(n.Id).remove().catch(() => {});
    },
  };
}
