/**
 * The builder stage from the image build's own output (no second build), tagged so it does not
 * dangle, and the older stage of the same image and arch removed. dockerode is mocked here; the
 * real engine is in builder-stage.integration.spec.ts.
 */
import type Dockerode from 'dockerode';
import { StageTracker } from './engine-images';
import { builderStagePackages, builderStageRef, keepBuilderStage } from './builder-stage';

jest.mock('./engine-images', () => ({ ...jest.requireActual('./engine-images'), buildImage: jest.fn() }));
jest.mock('@hook/log', () => ({ ...jest.requireActual('@hook/log'), log: { info: jest.fn(), debug: jest.fn(), warn: jest.fn(), notice: jest.fn() } }));

const { buildImage } = jest.requireMock('./engine-images') as { buildImage: jest.Mock };
const { log } = jest.requireMock('@hook/log') as { log: { warn: jest.Mock } };

const CLASSIC_OUTPUT = [
  'Step 1/8 : ARG BASE_IMAGE',
  'Step 2/8 : FROM ${BASE_IMAGE} AS builder',
  ' ---> 201e060e30df',
  'Step 3/8 : RUN apt-get update && apt-get install -y acpid',
  ' ---> Using cache',
  ' ---> 3a936e0f98b5',
  'Step 4/8 : COPY rootfs/ /out/',
  ' ---> Running in 9f8e7d6c5b4a',
  'Removing intermediate container 9f8e7d6c5b4a',
  ' ---> 5b0c5580c314',
  'Step 5/8 : FROM scratch',
  ' ---> ',
  'Step 6/8 : COPY --from=builder /out/ /',
  ' ---> 1c24d87dd3c4',
  'Step 7/8 : CMD ["/usr/sbin/acpid"]',
  ' ---> Running in 0a1b2c3d4e5f',
  ' ---> 663c33df1823',
  'Successfully built 663c33df1823',
];

describe('StageTracker', () => {
  it('names the last image of each stage, the builder stage by its AS name', () => {
    const tracker = new StageTracker();
    for (const line of CLASSIC_OUTPUT) tracker.line(line);
    expect(tracker.stages).toEqual([{ name: 'builder', image: '5b0c5580c314' }, { image: '663c33df1823' }]);
  });

  it('reads FROM lines with a platform flag and any case', () => {
    const tracker = new StageTracker();
    for (const line of ['Step 1/3 : from --platform=linux/arm64 x AS Builder', ' ---> abcdefabcdef', 'Step 2/3 : FROM builder AS other', ' ---> 0123456789ab']) tracker.line(line);
    expect(tracker.stages).toEqual([
      { name: 'builder', image: 'abcdefabcdef' },
      { name: 'other', image: '0123456789ab' },
    ]);
  });
});

/** A dockerode stand-in: images by reference, tags, removals; a dpkg database that cannot be read. */
function fakeDocker(images: Record<string, string>, stageTags: string[] = []) {
  const tags = new Map<string, string>(Object.entries(images));
  for (const tag of stageTags) tags.set(tag, `sha256:old-${tag}`);
  const removed: string[] = [];
  // A reference or a full ID, as the engine takes either.
  const ids = new Set(tags.values());
  const idOf = (ref: string) => tags.get(ref) ?? (ids.has(ref) ? ref : undefined);
  const docker = {
    getImage: (ref: string) => ({
      inspect: async () => {
        const id = idOf(ref);
        if (!id) throw Object.assign(new Error('no such image'), { statusCode: 404 });
        return { Id: id, Architecture: 'amd64', RepoTags: [...tags].filter(([, value]) => value === id).map(([key]) => key) };
      },
      tag: async ({ repo, tag }: { repo: string; tag: string }) => void tags.set(`${repo}:${tag}`, idOf(ref)!),
      remove: async () => {
        removed.push(ref);
        tags.delete(ref);
        ids.delete(ref);
        for (const [key, value] of [...tags]) if (value === ref) tags.delete(key);
      },
    }),
    listImages: async () => [{ RepoTags: [...tags.keys()].filter((t) => t.startsWith('hook-builder/')) }],
    createContainer: async () => {
      throw new Error('reading is the integration test');
    },
  };
  return { docker: docker as unknown as Dockerode, tags, removed };
}

const REQUEST = { contextDir: '/ctx', ref: 'x/acpid:11111111-amd64', arch: 'amd64' as const, buildArgs: {}, label: 'acpid (amd64)', imageName: 'acpid', tag: '11111111-amd64' };

describe('builderStagePackages', () => {
  beforeEach(() => {
    buildImage.mockReset();
    log.warn.mockReset();
  });

  it("tags the stage the build's output names, without building again, and drops the older stage of that arch only", async () => {
    const { docker, tags, removed } = fakeDocker({ '5b0c5580c314': 'sha256:5b0c5580c314aaaa' }, ['hook-builder/acpid:00000000-amd64', 'hook-builder/acpid:00000000-arm64']);
    const tracker = new StageTracker();
    for (const line of CLASSIC_OUTPUT) tracker.line(line);
    const packages = await builderStagePackages(docker, 'amd64', REQUEST, { stages: tracker.stages });
    expect(buildImage).not.toHaveBeenCalled();
    expect(tags.get(builderStageRef('acpid', '11111111-amd64'))).toBe('sha256:5b0c5580c314aaaa');
    expect(removed).toEqual(['hook-builder/acpid:00000000-amd64']);
    // The fake cannot create containers: unknown, with the stage named in the warning.
    expect(packages).toEqual({ source: 'unknown' });
    expect(log.warn.mock.calls[0][0]).toContain('hook-builder/acpid:11111111-amd64');
  });

  it('falls back to building the stage on its own, tagged, with a warning, when the output names none', async () => {
    const { docker, tags } = fakeDocker({});
    buildImage.mockImplementation(async (_docker: unknown, _arch: string, request: { targetRef: string }) => {
      tags.set(request.targetRef, 'sha256:built');
      return { stages: [] };
    });
    await builderStagePackages(docker, 'amd64', REQUEST, { stages: [{ image: 'abcdefabcdef' }] });
    expect(log.warn.mock.calls[0][0]).toBe("acpid (amd64): the build's output names no builder stage the engine has; building the stage on its own for the SBOM");
    expect(buildImage.mock.calls[0][2]).toMatchObject({ target: 'builder', targetRef: 'hook-builder/acpid:11111111-amd64' });
  });

  it('keeps an older stage the engine refuses to remove (a container uses it)', async () => {
    const { docker, tags } = fakeDocker({ new: 'sha256:new' }, ['hook-builder/acpid:00000000-amd64']);
    (docker as unknown as { getImage: (ref: string) => unknown }).getImage = ((orig) => (ref: string) => ({
      ...(orig(ref) as object),
      remove: async () => {
        throw new Error('conflict: image is being used by a container');
      },
    }))((docker as unknown as { getImage: (ref: string) => unknown }).getImage);
    await expect(keepBuilderStage(docker, 'acpid', '11111111-amd64', 'new')).resolves.toBe('hook-builder/acpid:11111111-amd64');
    expect(tags.has('hook-builder/acpid:00000000-amd64')).toBe(true);
  });

  it('removes the image the same tag named before (built again without the cache), so it does not dangle', async () => {
    const { docker, tags, removed } = fakeDocker({ 'hook-builder/acpid:11111111-arm64': 'sha256:first', second: 'sha256:second' });
    await keepBuilderStage(docker, 'acpid', '11111111-arm64', 'sha256:second');
    expect(tags.get('hook-builder/acpid:11111111-arm64')).toBe('sha256:second');
    expect(removed).toEqual(['sha256:first']);
  });
});
