/**
 * A private sandbox environment for the authoring tools and tests (lesson
 * verifier, block runner, check-helper tests): its own instance name, network and
 * catalog registry and name server (started by DockerRuntime.prepare()), all removed by `close()`.
 */
import { randomBytes } from 'node:crypto';
import { loadConfig } from '../../sandbox-server/src/config.ts';
import { createRuntime } from '../../sandbox-server/src/server.ts';
import type { DockerRuntime } from '../../sandbox-server/src/runtime/docker.ts';

export interface ToolRuntime {
  runtime: DockerRuntime;
  close(): Promise<void>;
}

export async function startToolRuntime(prefix: string, image: string): Promise<ToolRuntime> {
  const instance = `${prefix}-${randomBytes(4).toString('hex')}`;
  const runtime = createRuntime({ ...loadConfig({ BERTH_INSTANCE: instance }), sandboxImage: image });
  await runtime.prepare();
  return {
    runtime,
    async close() {
      await runtime.removeNetwork().catch(() => {}); // with its registry, name server and firewall rules
    },
  };
}
