/** Bad input: one clear UserError each, naming the file, the line and the YAML path. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '@hook/log';
import { OciLayout } from '@hook/oci';
import { addImage, collectTree } from '../test/images';
import { assemble } from './assemble';
import { validateConfig } from './config';
import { OciLayoutResolver } from './resolver';
import { renderTemplate } from '@hook/inventory';

let dir: string;
let resolver: OciLayoutResolver;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'linuxkit-errors-'));
  const layout = await OciLayout.create(join(dir, 'layout'));
  await addImage(layout, 'test/ok:1', { layers: [[{ name: 'a', content: 'a' }]] });
  await addImage(layout, 'test/arm:1', { layers: [[{ name: 'a', content: 'a' }]], architecture: 'arm64' });
  resolver = new OciLayoutResolver([join(dir, 'layout')]);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function failure(yaml: string): Promise<UserError> {
  const yamlPath = join(dir, 'hook.yaml');
  await writeFile(yamlPath, yaml);
  try {
    await collectTree(assemble({ yamlPath, arch: 'amd64', resolver }));
  } catch (error) {
    expect(error).toBeInstanceOf(UserError);
    expect((error as Error).message).not.toContain('\n');
    return error as UserError;
  }
  throw new Error('expected the assembly to fail');
}

describe('validation and assembly errors', () => {
  it('YAML syntax error: file and line', async () => {
    const error = await failure('init:\n  - test/ok:1\nservices:\n  - name: x\n    image: [unclosed\n');
    expect(error.message).toMatch(/hook\.yaml:\d+: YAML syntax error/);
  });

  it('unknown key: file, line, path and a suggestion', () => {
    const yaml = ['services:', '  - name: a', '    image: test/ok:1', '  - name: b', '    image: test/ok:1', '    capabilites: [all]', ''].join('\n');
    expect(() => validateConfig(yaml, 'hook.template.yaml')).toThrow('hook.template.yaml:6: services[1].capabilites: unknown key (did you mean capabilities?)');
  });

  it('wrong types, required keys and unknown top-level keys', () => {
    expect(() => validateConfig('files:\n  - path: etc/x\n    mode: 0644\n    contents: x\n', 'f.yaml')).toThrow('f.yaml:3: files[0].mode: must be a string (quote it), not an integer');
    expect(() => validateConfig('onboot:\n  - name: x\n', 'f.yaml')).toThrow("f.yaml:2: onboot[0]: missing required key 'image'");
    expect(() => validateConfig('kernal:\n  image: x\n', 'f.yaml')).toThrow('f.yaml:1: kernal: unknown key (did you mean kernel?)');
    expect(() => validateConfig('services:\n  - name: a\n    image: x\n  - name: a\n    image: y\n', 'f.yaml')).toThrow('f.yaml:4: duplicate service name: a');
  });

  it('missing image: names the image and where it is used', async () => {
    const error = await failure('init:\n  - test/ok:1\nservices:\n  - name: x\n    image: test/missing:2\n');
    expect(error.message).toMatch(/^.*hook\.yaml:5: services\[0\] x: image test\/missing:2 not found in OCI layouts/);
  });

  it('wrong-arch image: names the image, its arch and the wanted arch', async () => {
    const error = await failure('init:\n  - test/ok:1\n  - test/arm:1\n');
    expect(error.message).toMatch(/hook\.yaml:3: init\[1\]: .*test\/arm:1.*linux\/arm64.*linux\/amd64/);
  });

  it('missing source file: an error without optional, skipped with optional', async () => {
    const base = 'init:\n  - test/ok:1\nfiles:\n  - path: root/key\n    source: does/not/exist.pub\n';
    const error = await failure(base);
    expect(error.message).toMatch(/hook\.yaml:5: files\[0\] \(root\/key\): source does\/not\/exist\.pub does not exist/);
    expect(error.message).toContain('optional: true');
    const yamlPath = join(dir, 'optional.yaml');
    await writeFile(yamlPath, `${base}    optional: true\n`);
    const { tree } = await collectTree(assemble({ yamlPath, arch: 'amd64', resolver }));
    expect(tree.has('root/key')).toBe(false);
    expect(tree.has('a')).toBe(true);
  });

  it('unknown capability and bad device mode name the container', async () => {
    const error = await failure('services:\n  - name: svc\n    image: test/ok:1\n    capabilities: [CAP_FLY]\n');
    expect(error.message).toMatch(/hook\.yaml:2: services\[0\] svc: unknown capability: CAP_FLY/);
  });

  it('template variable without a value: names the variable and the template', () => {
    expect(() => renderTemplate('init:\n  - "${HOOK_CONTAINER_INIT_IMAGE}"\n', { HOOK_CONTAINER_INIT_IMAGE: '' }, 'hook.template.yaml')).toThrow(
      /^hook\.template\.yaml:2: template variable HOOK_CONTAINER_INIT_IMAGE has no value/,
    );
  });
});

describe('YAML syntax errors in their fixed form', () => {
  it('end without a stray colon, and an over-indented line is named itself', () => {
    expect(() => validateConfig('kernel:\n  image: x\n   cmdline: y\n', 't.yaml')).toThrow(
      new UserError('t.yaml:3: YAML syntax error: Nested mappings are not allowed in compact mappings; fix the YAML'),
    );
    expect(() => validateConfig('services:\n  - name: a\n   image: x\n', 't.yaml')).toThrow(/^t\.yaml:\d+: YAML syntax error: [^\n]*[^:]; fix the YAML$/);
  });
});

describe('template errors name the file relative to the workspace', () => {
  it('a template inside the working directory is shown relative, as other errors are', async () => {
    const { loadConfig } = require('./assemble');
    const inside = join(process.cwd(), 'linuxkit-templates', 'hook.template.yaml');
    await expect(loadConfig({ yamlPath: inside, yamlText: 'kernal:\n  image: x\n' })).rejects.toThrow(
      'linuxkit-templates/hook.template.yaml:1: kernal: unknown key (did you mean kernel?)',
    );
  });
});
