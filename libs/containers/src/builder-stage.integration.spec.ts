/**
 * The real Docker engine (ensureDockerd starts Debian's dockerd when none answers): a two-stage
 * image FROM the project's Debian base, built ten times with one changed file, leaves no new
 * dangling image, and each SBOM still lists the builder stage's packages, without a second build;
 * then `hook clean --dry-run` lists and removes nothing, and `hook clean` removes. The base is
 * the engine's copy of this workspace's debian-base (or, without one, bootstrapped from the host's
 * Debian mirror, about 40 s); everything the test tags carries its run's name.
 */
import { randomBytes } from 'node:crypto';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestDockerd, ensureDockerd } from '@hook/docker/testing';
import { BASE_IMAGE_NAME, IMAGE_SBOM_FILE, hostDockerArch } from '@hook/layout';
import { log } from '@hook/log';
import { OciLayout } from '@hook/oci';
import { buildTestImage } from '@hook/oci/testing';
import { type CleanItem, planClean, runClean } from './clean';
import { dockerArchiveFromLayout } from './docker-archive';
import { inspectLocalImage, loadImage } from './engine-images';
import { imageOutputDir } from './output';
import { builderStageRef } from './tag';
import { buildContainerTarget } from './target';

jest.setTimeout(240_000);

const WORKSPACE = join(__dirname, '..', '..', '..');
const arch = hostDockerArch();

describe('builder stage from the image build (integration: docker)', () => {
  let dockerd: TestDockerd;
  let root: string;
  let baseRoot: string;
  let env: NodeJS.ProcessEnv;
  const run = randomBytes(4).toString('hex');
  const name = `tenfold-${run}`;
  const prefix = `hook-test-${run}/`;
  const danglingBefore = new Set<string>();
  const infoLines: string[] = [];
  let lastTag = '';
  let lastSbom = '';

  const dangling = async () => (await dockerd.engine.docker.listImages({ filters: JSON.stringify({ dangling: ['true'] }) })).map((i) => i.Id);
  const build = () => buildContainerTarget({ workspaceRoot: root, imageName: name, arch, env, engine: dockerd.engine });

  beforeAll(async () => {
    dockerd = await ensureDockerd();
    // This workspace's base under its usual name: the engine's copy, else bootstrapped.
    baseRoot = await mkdtemp(join(tmpdir(), 'hook-stage-base-'));
    await cp(join(WORKSPACE, 'images', BASE_IMAGE_NAME), join(baseRoot, 'images', BASE_IMAGE_NAME), { recursive: true });
    const base = await buildContainerTarget({ workspaceRoot: baseRoot, imageName: BASE_IMAGE_NAME, arch, env: { ...process.env }, engine: dockerd.engine });
    root = await mkdtemp(join(tmpdir(), 'hook-stage-'));
    await cp(join(WORKSPACE, 'images', BASE_IMAGE_NAME), join(root, 'images', BASE_IMAGE_NAME), { recursive: true });
    await mkdir(join(root, 'images', name), { recursive: true });
    await writeFile(
      join(root, 'images', name, 'Dockerfile'),
      'ARG BASE_IMAGE\nFROM ${BASE_IMAGE} AS builder\nRUN mkdir -p /out/usr/bin && cp /usr/bin/dash /out/usr/bin/dash\nCOPY hello.txt /out/etc/hello.txt\n\nFROM scratch\nCOPY --from=builder /out/ /\n',
    );
    // The test's own registry base: its images are its own; the base is the one above, retagged.
    env = { ...process.env, HOOK_LK_CONTAINERS_OCI_BASE: prefix, HOOK_DEBIAN_BASE_IMAGE: base.ref, DO_PUSH: '', EXPORT_LK_CONTAINERS: '', DO_BUILD_LK_CONTAINERS: '', CACHE_DIR: join(root, 'cache'), HOOK_TMPDIR: join(root, 'tmp') };
    for (const id of await dangling()) danglingBefore.add(id);
    jest.spyOn(log, 'info').mockImplementation((...args: unknown[]) => void infoLines.push(String(args[0])));
  }, 240_000);

  afterAll(async () => {
    jest.restoreAllMocks();
    if (dockerd) {
      const docker = dockerd.engine.docker;
      for (const image of await docker.listImages()) {
        for (const tag of (image.RepoTags ?? []).filter((t) => t.startsWith(prefix) || t.includes(name))) await docker.getImage(tag).remove().catch(() => undefined);
      }
    }
    for (const dir of [root, baseRoot]) if (dir) await rm(dir, { recursive: true, force: true });
    await dockerd?.stop();
  }, 120_000);

  it('ten builds with one changed file each: no new dangling image, the SBOM from the tagged stage, no second build', async () => {
    const stages: string[] = [];
    for (let i = 0; i < 10; i++) {
      await writeFile(join(root, 'images', name, 'hello.txt'), `change ${i}\n`);
      const built = await build();
      expect(built.source).toBe('built');
      const sbom = await readFile(join(imageOutputDir(root, name, arch), IMAGE_SBOM_FILE), 'utf8');
      const doc = JSON.parse(sbom) as { metadata: { component: { properties: unknown[] } }; components: Array<{ name: string; type: string }> };
      expect(doc.metadata.component.properties).toContainEqual({ name: 'hook:packages:source', value: 'builder-stage' });
      // /usr/bin/dash came from the stage's Debian package dash.
      expect(doc.components).toContainEqual(expect.objectContaining({ type: 'library', name: 'dash' }));
      stages.push(builderStageRef(name, built.tag));
      lastTag = built.tag;
      lastSbom = sbom;
    }
    const newDangling = (await dangling()).filter((id) => !danglingBefore.has(id));
    expect(newDangling).toEqual([]);
    // Only the last stage stays tagged; the older ones were removed with their own layers.
    for (const stage of stages.slice(0, -1)) expect(await inspectLocalImage(dockerd.engine.docker, stage)).toBeUndefined();
    expect(await inspectLocalImage(dockerd.engine.docker, stages[9], arch)).toBeDefined();
    // The image was built once per change: no "... builder stage (SBOM)" build.
    expect(infoLines.filter((l) => l.includes('Step 1/'))).toHaveLength(10);
    expect(infoLines.filter((l) => l.includes('(SBOM)'))).toEqual([]);
  });

  it("an image reused from the engine (dist/ gone) reads its tagged stage, without a build", async () => {
    await rm(imageOutputDir(root, name, arch), { recursive: true });
    infoLines.length = 0;
    const reused = await build();
    expect(reused.source).toBe('local');
    expect(reused.tag).toBe(lastTag);
    expect(infoLines.filter((l) => l.includes('Step '))).toEqual([]);
    expect(await readFile(join(imageOutputDir(root, name, arch), IMAGE_SBOM_FILE), 'utf8')).toBe(lastSbom);
  });

  it('hook clean --dry-run lists what this run left and removes nothing; hook clean removes it', async () => {
    const docker = dockerd.engine.docker;
    // A dangling image of this run: a tag loaded again with other content.
    const layout = await OciLayout.create(join(root, 'dangle-layout'));
    for (const text of ['one', 'two']) {
      const image = await buildTestImage(layout, { files: { [`etc/${run}`]: text }, architecture: arch, compression: 'none' });
      await layout.addManifest(image.manifestDescriptor, text);
      await loadImage(docker, await dockerArchiveFromLayout(layout, text, `${prefix}dangle:1`));
    }
    const ours = new Set((await dangling()).filter((id) => !danglingBefore.has(id)));
    expect(ours.size).toBe(1);
    const select = (item: CleanItem) => item.name.includes(run) || (item.kind === 'dangling image' && [...ours].some((id) => id.includes(item.name))) || item.kind === 'staging' || item.kind === 'cache';
    await mkdir(join(root, 'dist', 'hook', '.staging-4194000-x'), { recursive: true });
    await mkdir(join(root, 'cache', 'debian'), { recursive: true });

    const planned = (await planClean({ workspaceRoot: root, env })).items.filter(select);
    const names = (kind: string) => planned.filter((i) => i.kind === kind).map((i) => i.name);
    expect(names('dangling image')).toHaveLength(1);
    expect(names('builder stage')).toEqual([builderStageRef(name, lastTag)]);
    // The nine older builds, which dist/ no longer records; not the last one, not the dangle tag
    // (no image folder of that name).
    expect(names('unrecorded image')).toHaveLength(9);
    for (const ref of names('unrecorded image')) expect(ref).toMatch(new RegExp(`^${prefix}${name}:(?!${lastTag})[0-9a-f]{8}-${arch}$`));
    expect(names('staging')).toEqual([join(root, 'dist', 'hook', '.staging-4194000-x')]);
    expect(names('cache')).toEqual([join(root, 'cache', 'debian')]);
    let out = '';
    expect(await runClean({ workspaceRoot: root, env, dryRun: true, select, write: (t) => (out += t) })).toBe(0);
    expect(out).toMatch(/^Would remove 13 item\(s\), .* \(dry run: nothing removed\)$/m);
    expect(out).toMatch(new RegExp(`^builder stage +\\d+(\\.\\d)? [kMG]?B  hook-builder/${name}:${lastTag}$`, 'm'));
    expect(await inspectLocalImage(docker, builderStageRef(name, lastTag))).toBeDefined();
    expect(await dangling()).toEqual(expect.arrayContaining([...ours]));

    out = '';
    expect(await runClean({ workspaceRoot: root, env, dryRun: false, select, write: (t) => (out += t) })).toBe(0);
    expect(out).toMatch(/^Removed 13 item\(s\), /m);
    expect(await inspectLocalImage(docker, builderStageRef(name, lastTag))).toBeUndefined();
    expect((await dangling()).filter((id) => ours.has(id))).toEqual([]);
    // What dist/ records stays.
    expect(await inspectLocalImage(docker, `${prefix}${name}:${lastTag}`)).toBeDefined();
    expect((await planClean({ workspaceRoot: root, env })).items.filter(select)).toEqual([]);
  });
});
