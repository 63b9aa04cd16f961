/**
 * Pushes an image from the host engine to the catalog registry with zstd-compressed
 * layers, through the registry's HTTP API (the OCI distribution spec).
 *
 * Why not `docker push`: it always gzips, and a sandbox's nested engine inflates gzip in
 * Go, which was most of a `docker pull nginx` (measured in a sandbox: ~0.9 s of its one
 * CPU for nginx's 80 MB base layer; zstd ~0.2 s; see README, Benchmarks). Engines since
 * 23.0 (the sandbox has 26.1) pull zstd layers; what a learner sees stays the same: the
 * image ID (the config is pushed byte for byte), the layers' diff IDs, `docker history`
 * and `docker image inspect` (only the registry digest is the zstd manifest's own).
 *
 * The image comes from `docker save` (the 20.10 host engine's layout or the OCI one:
 * both have manifest.json). Blobs the repository already has are not sent again; one
 * another repository has is mounted from it.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { constants, createZstdCompress } from 'node:zlib';

/** zstd level: 9 makes nginx's base layer 24 MB (gzip: 31 MB) in ~2.5 s here; higher levels take minutes and decompress no faster. */
export const ZSTD_LEVEL = 9;
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
export const OCI_LAYER_ZSTD = 'application/vnd.oci.image.layer.v1.tar+zstd';

export class PushError extends Error {
  override name = 'PushError';
}

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
}

/** What one push run has compressed and where each blob already is (shared layers are compressed once). */
export class BlobCache {
  /** diff ID (uncompressed digest) -> the compressed blob. */
  readonly layers = new Map<string, Descriptor>();
  /** blob digest -> a repository that has it. */
  readonly where = new Map<string, string>();
}

/**
 * Pushes image `id` (sha256:...) as repo:tag for each of `names` ("library/nginx:latest").
 * Returns the manifest descriptor pushed for the last name.
 */
export async function pushImage(base: string, id: string, names: string[], cache: BlobCache, log: (line: string) => void = () => {}): Promise<Descriptor> {
  const work = await mkdtemp(join(tmpdir(), 'berth-push-'));
  try {
    await saveImage(id, work);
    const [entry] = JSON.parse(await readFile(join(work, 'manifest.json'), 'utf8')) as { Config: string; Layers: string[] }[];
    if (!entry) throw new PushError(`docker save ${id} wrote no manifest`);
    const configBytes = await readFile(join(work, entry.Config));
    const configDigest = sha256(configBytes);
    if (configDigest !== id) throw new PushError(`docker save ${id} gave a config with digest ${configDigest}`);
    const diffIds = (JSON.parse(configBytes.toString('utf8')) as { rootfs?: { diff_ids?: string[] } }).rootfs?.diff_ids ?? [];
    if (diffIds.length !== entry.Layers.length) throw new PushError(`${id}: ${entry.Layers.length} layer files for ${diffIds.length} diff IDs`);

    let manifest: Descriptor | undefined;
    for (const name of names) {
      const { repo, tag } = splitName(name);
      const layers: Descriptor[] = [];
      for (const [i, file] of entry.Layers.entries()) {
        const diffId = diffIds[i]!;
        let layer = cache.layers.get(diffId);
        if (!layer) {
          const t = performance.now();
          const { bytes, digest } = await compress(join(work, file));
          layer = { mediaType: OCI_LAYER_ZSTD, digest, size: bytes.length };
          cache.layers.set(diffId, layer);
          await putBlob(base, repo, layer.digest, bytes, cache);
          log(`layer ${diffId.slice(7, 19)}: zstd -${ZSTD_LEVEL} ${fmtMB(layer.size)} in ${((performance.now() - t) / 1000).toFixed(1)} s`);
        } else {
          await putBlob(base, repo, layer.digest, undefined, cache, () => compress(join(work, file)).then((c) => c.bytes));
        }
        layers.push(layer);
      }
      const config: Descriptor = { mediaType: OCI_CONFIG, digest: configDigest, size: configBytes.length };
      await putBlob(base, repo, config.digest, configBytes, cache);
      const body = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers }));
      const res = await fetch(`${base}/v2/${repo}/manifests/${tag}`, { method: 'PUT', headers: { 'Content-Type': OCI_MANIFEST }, body: new Uint8Array(body) });
      if (res.status !== 201) throw new PushError(`the registry refused the manifest of ${name}: ${res.status} ${await res.text()}`);
      manifest = { mediaType: OCI_MANIFEST, digest: sha256(body), size: body.length };
    }
    return manifest!;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** The manifest the registry holds for repo:tag (OCI or Docker v2), or undefined. */
export async function registryManifest(base: string, name: string): Promise<{ config?: { digest?: string }; layers?: { mediaType?: string }[] } | undefined> {
  const { repo, tag } = splitName(name);
  const res = await fetch(`${base}/v2/${repo}/manifests/${tag}`, {
    headers: { Accept: `application/vnd.docker.distribution.manifest.v2+json, ${OCI_MANIFEST}` },
  });
  if (res.status === 404) return undefined;
  if (!res.ok) throw new PushError(`the catalog registry answered ${res.status} for ${name}`);
  return (await res.json()) as { config?: { digest?: string }; layers?: { mediaType?: string }[] };
}

function splitName(name: string): { repo: string; tag: string } {
  const colon = name.lastIndexOf(':');
  return { repo: name.slice(0, colon), tag: name.slice(colon + 1) };
}

/** Uploads a blob unless the repository has it; mounts it from another repository when one has it. */
async function putBlob(base: string, repo: string, digest: string, bytes: Buffer | undefined, cache: BlobCache, load?: () => Promise<Buffer>): Promise<void> {
  const head = await fetch(`${base}/v2/${repo}/blobs/${digest}`, { method: 'HEAD' });
  if (head.ok) return void cache.where.set(digest, repo);
  const from = cache.where.get(digest);
  const start = await fetch(`${base}/v2/${repo}/blobs/uploads/${from ? `?mount=${digest}&from=${from}` : ''}`, { method: 'POST' });
  if (start.status === 201) return void cache.where.set(digest, repo); // mounted
  if (start.status !== 202) throw new PushError(`the registry refused an upload to ${repo}: ${start.status} ${await start.text()}`);
  const location = new URL(start.headers.get('location') ?? '', base);
  location.searchParams.set('digest', digest);
  const body = bytes ?? (await load!());
  const put = await fetch(location, { method: 'PUT', headers: { 'Content-Type': 'application/octet-stream' }, body: new Uint8Array(body) });
  if (put.status !== 201) throw new PushError(`the registry refused blob ${digest} in ${repo}: ${put.status} ${await put.text()}`);
  cache.where.set(digest, repo);
}

/** zstd of a file, and its digest. zstd output is deterministic: the same layer gives the same blob. */
async function compress(file: string): Promise<{ bytes: Buffer; digest: string }> {
  const chunks: Buffer[] = [];
  const hash = createHash('sha256');
  const z = createReadStream(file).pipe(createZstdCompress({ params: { [constants.ZSTD_c_compressionLevel]: ZSTD_LEVEL } }));
  for await (const chunk of z as AsyncIterable<Buffer>) {
    chunks.push(chunk);
    hash.update(chunk);
  }
  return { bytes: Buffer.concat(chunks), digest: `sha256:${hash.digest('hex')}` };
}

function saveImage(id: string, dir: string): Promise<void> {
  return new Promise((resolve, reject) => {
    // docker save | tar -x: no second copy of the image on disk.
    const child = spawn('bash', ['-o', 'pipefail', '-c', 'docker save "$1" | tar -x -C "$2"', 'save', id, dir], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new PushError(`docker save ${id} failed (exit ${code}): ${err.trim()}`))));
  });
}

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const fmtMB = (n: number) => `${(n / 1e6).toFixed(1)} MB`;
