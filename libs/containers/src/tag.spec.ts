import { cp, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BASE_IMAGE_NAME } from '@hook/layout';
import { describeBaseImage } from './base-image';
import { hashDirectory } from './dir-hash';
import { describeContainer, listImageFolders } from './target';
import { DEFAULT_LK_CONTAINERS_OCI_BASE } from '@hook/settings';
import { imageContentHash, imageTag, templateVariableName } from './tag';

const WORKSPACE = join(__dirname, '..', '..', '..');

describe('imageContentHash and imageTag', () => {
  const directoryHash = 'a'.repeat(64);

  it("is upstream's directory hash when the image depends on nothing else", () => {
    expect(imageContentHash({ directoryHash, dependencies: {} })).toBe(directoryHash);
  });

  it('moves with every dependency, whatever the order they are given in', () => {
    const one = imageContentHash({ directoryHash, dependencies: { base: 'x:1', bootkit: 'b1' } });
    expect(imageContentHash({ directoryHash, dependencies: { bootkit: 'b1', base: 'x:1' } })).toBe(one);
    expect(imageContentHash({ directoryHash, dependencies: { base: 'x:2', bootkit: 'b1' } })).not.toBe(one);
    expect(imageContentHash({ directoryHash, dependencies: { base: 'x:1', bootkit: 'b2' } })).not.toBe(one);
    expect(imageContentHash({ directoryHash, dependencies: { base: 'x:1' } })).not.toBe(one);
  });

  it('names the image <base><name>:<hash8>-<arch>, the base overridable', () => {
    expect(imageTag('dhcp', '0123456789abcdef', 'arm64', {})).toEqual({
      tag: '01234567-arm64',
      ref: `${DEFAULT_LK_CONTAINERS_OCI_BASE}dhcp:01234567-arm64`,
      hash: '0123456789abcdef',
    });
    expect(imageTag('dhcp', '0123456789abcdef', 'amd64', { HOOK_LK_CONTAINERS_OCI_BASE: 'registry.lan:5000/hook/' }).ref).toBe('registry.lan:5000/hook/dhcp:01234567-amd64');
  });

  it("gives the template's variable names", () => {
    expect(templateVariableName('hook-bootkit')).toBe('HOOK_CONTAINER_BOOTKIT_IMAGE');
    expect(templateVariableName('ca-certificates')).toBe('HOOK_CONTAINER_CA_CERTIFICATES_IMAGE');
    expect(templateVariableName('dhcp')).toBe('HOOK_CONTAINER_DHCP_IMAGE');
  });
});

describe('tags of a workspace', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'hook-tags-'));
    await cp(join(WORKSPACE, 'images', BASE_IMAGE_NAME), join(root, 'images', BASE_IMAGE_NAME), { recursive: true });
    for (const name of ['alpha', 'beta']) {
      await mkdir(join(root, 'images', name), { recursive: true });
      await writeFile(join(root, 'images', name, 'Dockerfile'), `ARG BASE_IMAGE\nFROM \${BASE_IMAGE}\nCOPY ${name}.txt /\n`);
      await writeFile(join(root, 'images', name, `${name}.txt`), name);
    }
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  const tagsOf = async (env: NodeJS.ProcessEnv = {}) => {
    const tags: Record<string, string> = {};
    for (const name of ['alpha', 'beta']) tags[name] = (await describeContainer({ workspaceRoot: root, imageName: name, arch: 'amd64', env })).tag.ref;
    tags.base = (await describeBaseImage(root, 'amd64', env)).tag.ref;
    return tags;
  };

  it('moves only the tag of the image whose folder changed', async () => {
    const before = await tagsOf();
    await writeFile(join(root, 'images', 'alpha', 'alpha.txt'), 'changed');
    const after = await tagsOf();
    expect(after.alpha).not.toBe(before.alpha);
    expect(after.beta).toBe(before.beta);
    expect(after.base).toBe(before.base);
  });

  it('moves every image tag when the base image recipe changes', async () => {
    const before = await tagsOf();
    const recipe = join(root, 'images', BASE_IMAGE_NAME, 'image.yaml');
    await writeFile(recipe, (await readFile(recipe, 'utf8')).replace('packages: []', 'packages: [less]'));
    const after = await tagsOf();
    expect(after.base).not.toBe(before.base);
    expect(after.alpha).not.toBe(before.alpha);
    expect(after.beta).not.toBe(before.beta);
  });

  it('moves every image tag when another registry base image is chosen', async () => {
    const before = await tagsOf();
    const after = await tagsOf({ HOOK_DEBIAN_BASE_IMAGE: 'registry.lan/debian:trixie' });
    expect(Object.values(after).every((ref, i) => ref !== Object.values(before)[i])).toBe(true);
  });

  it('moves only the image that takes a changed extra dependency', async () => {
    const a1 = await describeContainer({ workspaceRoot: root, imageName: 'alpha', arch: 'amd64', env: {}, dependencies: { bundle: 'h1' } });
    const a2 = await describeContainer({ workspaceRoot: root, imageName: 'alpha', arch: 'amd64', env: {}, dependencies: { bundle: 'h2' } });
    expect(a2.tag.ref).not.toBe(a1.tag.ref);
    expect(a1.inputs.dependencies).toMatchObject({ bundle: 'h1' });
  });

  it('differs per architecture only in the suffix', async () => {
    const amd = await describeContainer({ workspaceRoot: root, imageName: 'alpha', arch: 'amd64', env: {} });
    const arm = await describeContainer({ workspaceRoot: root, imageName: 'alpha', arch: 'arm64', env: {} });
    expect(arm.tag.ref.replace(/-arm64$/, '')).not.toBe(amd.tag.ref.replace(/-amd64$/, ''));
    expect(arm.tag.tag).toMatch(/^[0-9a-f]{8}-arm64$/);
  });

  it('lists the folders that have a Dockerfile', async () => {
    expect(await listImageFolders(root)).toEqual(['alpha', 'beta']);
  });
});

describe("the repository's image folders", () => {
  it('cover every image the default template names', async () => {
    const template = await readFile(join(WORKSPACE, 'linuxkit-templates', 'hook.template.yaml'), 'utf8');
    const wanted = [...new Set([...template.matchAll(/\$\{(HOOK_CONTAINER_[A-Z_]+_IMAGE)\}/g)].map((m) => m[1]))].sort();
    const have = (await listImageFolders(WORKSPACE)).map(templateVariableName);
    expect(wanted.filter((v) => !have.includes(v!))).toEqual([]);
  });

  it.each(['rootfs-copy.sh', 'cmdline.sh'])('share one %s, whose hash is an input of every tag', async (helper) => {
    const copies = [];
    for (const name of await readdir(join(WORKSPACE, 'images'))) {
      if (await readFile(join(WORKSPACE, 'images', name, helper)).catch(() => undefined)) copies.push(name);
    }
    expect(copies).toEqual([]);
    const { inputs } = await describeContainer({ workspaceRoot: WORKSPACE, imageName: 'ntp', arch: 'amd64', env: {} });
    expect(JSON.stringify(inputs)).toContain(helper);
  });

  it('hash each folder independently of the others', async () => {
    const a = await hashDirectory(WORKSPACE, 'images/dhcp');
    const b = await hashDirectory(WORKSPACE, 'images/ntp');
    expect(a).not.toBe(b);
  });
});
