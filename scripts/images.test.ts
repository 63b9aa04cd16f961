import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, mkdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashImageDir, hashInputs, readInputFiles, shortHash } from './lib/images.ts';

async function withImageDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-images-test-'));
  try {
    await writeFile(join(dir, 'Dockerfile'), 'FROM scratch\nCOPY hello /\n');
    await writeFile(join(dir, 'hello'), 'hello\n');
    await mkdir(join(dir, 'etc'));
    await writeFile(join(dir, 'etc', 'motd'), 'welcome\n');
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const PARENT = 'sha256:1111111111111111111111111111111111111111111111111111111111111111';

test('the input hash is stable when nothing changes', async () => {
  await withImageDir(async (dir) => {
    const a = await hashImageDir(dir, [PARENT]);
    const b = await hashImageDir(dir, [PARENT]);
    assert.equal(a, b);
    assert.match(a, /^[0-9a-f]{64}$/);
    assert.equal(shortHash(a), a.slice(0, 12));
  });
});

test('the input hash changes when a file changes, is added, removed or renamed', async () => {
  await withImageDir(async (dir) => {
    const seen = new Set<string>([await hashImageDir(dir, [PARENT])]);
    const expectNew = async (what: string) => {
      const h = await hashImageDir(dir, [PARENT]);
      assert.ok(!seen.has(h), `hash did not change after: ${what}`);
      seen.add(h);
    };
    await writeFile(join(dir, 'etc', 'motd'), 'welcome!\n');
    await expectNew('editing a nested file');
    await writeFile(join(dir, 'extra'), '');
    await expectNew('adding an empty file');
    await rm(join(dir, 'extra'));
    await rename(join(dir, 'hello'), join(dir, 'hello2'));
    await expectNew('renaming a file');
    await chmod(join(dir, 'hello2'), 0o755);
    await expectNew('making a file executable');
    await symlink('hello2', join(dir, 'link'));
    await expectNew('adding a symbolic link');
  });
});

test('the input hash includes the parent images, in order', async () => {
  await withImageDir(async (dir) => {
    const other = PARENT.replace(/1/g, '2');
    const none = await hashImageDir(dir, []);
    const one = await hashImageDir(dir, [PARENT]);
    const changed = await hashImageDir(dir, [other]);
    const both = await hashImageDir(dir, [PARENT, other]);
    const swapped = await hashImageDir(dir, [other, PARENT]);
    assert.equal(new Set([none, one, changed, both, swapped]).size, 5);
  });
});

test('file order and content boundaries cannot collide', () => {
  const f = (path: string, content: string) => ({ path, executable: false, content });
  const base = hashInputs({ files: [f('a', '1'), f('b', '2')] });
  assert.equal(hashInputs({ files: [f('b', '2'), f('a', '1')] }), base, 'order of listing does not matter');
  assert.notEqual(hashInputs({ files: [f('a', '12'), f('b', '')] }), hashInputs({ files: [f('a', '1'), f('b', '2')] }));
  assert.notEqual(hashInputs({ files: [f('a', '1')], parents: ['x'] }), hashInputs({ files: [f('a', '1')], extra: 'x' }));
});

test('readInputFiles lists every file, sorted, with forward-slash paths', async () => {
  await withImageDir(async (dir) => {
    const files = await readInputFiles(dir);
    assert.deepEqual(files.map((f) => f.path), ['Dockerfile', 'etc/motd', 'hello']);
    assert.equal(files.find((f) => f.path === 'hello')?.content.toString(), 'hello\n');
  });
});

test('the catalog: Docker Hub names, every tag once, host names under berth-catalog/, parents first', async () => {
  const { CATALOG, CATALOG_PREFIX, IMAGES } = await import('./lib/images.ts');
  const names = CATALOG.flatMap((c) => c.push);
  assert.equal(new Set(names).size, names.length, 'no tag is pushed twice');
  for (const name of names) assert.match(name, /^(library|berth)\/[a-z0-9-]+:[a-z0-9.-]+$/, name);
  const need = ['hello-world:latest', 'busybox:latest', 'debian:trixie-slim', 'debian:latest', 'nginx:latest', 'redis:latest', 'mariadb:latest', 'python:3.13-slim', 'docker:cli', 'docker:latest'];
  for (const n of need) assert.ok(names.includes(`library/${n}`), `the catalog has ${n}`);
  assert.ok(names.includes('berth/webapp:latest'));
  // Host-side names never take an official image's name (an operator's nginx:latest stays theirs).
  for (const c of CATALOG) assert.ok(c.ref.startsWith(CATALOG_PREFIX), c.ref);
  // Parents are built before their children.
  const order = IMAGES.map((i) => i.ref);
  for (const image of IMAGES) {
    for (const parent of image.parents.filter((p) => order.includes(p))) assert.ok(order.indexOf(parent) < order.indexOf(image.ref), `${parent} before ${image.ref}`);
  }
});
