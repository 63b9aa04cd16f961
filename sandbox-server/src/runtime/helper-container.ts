/**
 * A script run to completion in a throwaway container of one of Berth's own images,
 * labelled with the instance and a role, removed afterwards: the way the server does
 * what needs the engine host's root (firewall rules, reading volume sizes) without
 * being root itself. Each caller gives only the privileges its script needs.
 */
import type Docker from 'dockerode';
import { PassThrough } from 'node:stream';
import { LABEL } from './labels.ts';

export interface HelperRun {
  docker: Docker;
  image: string;
  instance: string;
  /** org.berth.role of the container (e.g. firewall, disk-usage). */
  role: string;
  script: string;
  hostConfig: Docker.HostConfig;
}

export interface HelperResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Creates, runs and removes the helper; resolves with its exit status and output. */
export async function runHelperContainer(run: HelperRun): Promise<HelperResult> {
  const { docker } = run;
  const container = await docker.createContainer({
    Image: run.image,
    User: '0',
    Entrypoint: ['bash', '-c', run.script],
    Cmd: [],
    Labels: { [LABEL.managed]: 'true', [LABEL.instance]: run.instance, [LABEL.role]: run.role },
    HostConfig: { SecurityOpt: ['no-new-privileges'], LogConfig: { Type: 'none', Config: {} }, ...run.hostConfig },
  });
  try {
    const stream = await container.attach({ stream: true, stdout: true, stderr: true });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const ended = new Promise<void>((resolve) => {
      stream.on('end', resolve);
      stream.on('close', resolve);
      stream.on('error', () => resolve());
    });
    docker.modem.demuxStream(stream, collect(out), collect(err));
    await container.start();
    const { StatusCode } = (await container.wait()) as { StatusCode: number };
    await Promise.race([ended, new Promise((r) => setTimeout(r, 1000))]);
    return { exitCode: StatusCode, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
  } finally {
    await container.remove({ force: true }).catch(() => {});
  }
}

/** Removes helpers of the instance left by a server that died while one ran (they hold no state). */
export async function removeLeftoverHelpers(docker: Docker, instance: string, roles: string[]): Promise<number> {
  const left = await docker.listContainers({ all: true, filters: { label: [`${LABEL.managed}=true`, `${LABEL.instance}=${instance}`] } });
  const helpers = left.filter((c) => roles.includes(c.Labels[LABEL.role] ?? ''));
  await Promise.all(helpers.map((c) => docker.getContainer(c.Id).remove({ force: true }).catch(() => {})));
  return helpers.length;
}

function collect(into: Buffer[]): PassThrough {
  return new PassThrough().on('data', (d: Buffer) => into.push(d));
}
