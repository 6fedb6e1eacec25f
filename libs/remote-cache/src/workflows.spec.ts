import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { checkWorkflow, shellCommands, type WorkspaceFacts } from './workflows';
import { workspaceFacts } from './workspace-facts';

const root = resolve(__dirname, '../../..');
const workflowsDir = join(root, '.github/workflows');
const workflowFiles = readdirSync(workflowsDir).filter((f) => /\.ya?ml$/.test(f));

let facts: WorkspaceFacts;
beforeAll(async () => {
  facts = await workspaceFacts(root);
}, 240_000);

describe('the repository workflows', () => {
  it.each(workflowFiles)('%s passes the schema and names only real commands, targets and matrix fields', (file) => {
    expect(checkWorkflow(file, readFileSync(join(workflowsDir, file), 'utf8'), facts)).toEqual([]);
  });

  it('build affected projects with nx-set-shas and the remote cache, and fan out from gha-matrix', () => {
    const matrix = readFileSync(join(workflowsDir, 'build-all-matrix.yaml'), 'utf8');
    expect(matrix).toContain('./hook gha-matrix');
    expect(matrix).toContain('nrwl/nx-set-shas@v5');
    expect(matrix).toMatch(/npx nx affected -t build-\$\{\{ matrix\.docker_arch \}\}/);
    expect(matrix).toContain('NX_SELF_HOSTED_REMOTE_CACHE_SERVER');
  });
});

describe('checkWorkflow finds what actionlint-like checks must find', () => {
  const base = `name: t
on:
  push: {}
jobs:
  prep:
    runs-on: ubuntu-latest
    outputs:
      kernels_json: \${{ steps.m.outputs.kernels_json }}
    steps:
      - id: m
        run: ./hook gha-matrix
  build:
    needs: [prep]
    strategy:
      matrix:
        include: \${{ fromJSON(needs.prep.outputs.kernels_json) }}
    runs-on: \${{ matrix.runner }}
    steps:
      - uses: actions/checkout@v4
        with:
          fetch-depth: 0
      - uses: nrwl/nx-set-shas@v5
      - run: STEP
`;
  const check = (step: string, workflow = base) => checkWorkflow('t.yaml', workflow.replace('STEP', step), facts);

  it('accepts a correct job', () => {
    expect(check("npx nx affected -t build --exclude='*,!kernel-${{ matrix.kernel }}'")).toEqual([]);
  });

  it('reports a schema error (an unknown key in a step)', () => {
    expect(check('echo hi', base.replace('      - uses: nrwl/nx-set-shas@v5\n', '      - uses: nrwl/nx-set-shas@v5\n        whith: {}\n'))).toEqual([
      expect.stringContaining("Additional property 'whith' is not allowed"),
    ]);
  });

  it('reports an unknown hook command', () => {
    expect(check('./hook buidl hook-default-amd64')).toEqual([expect.stringContaining("'hook buidl' is not a hook command")]);
  });

  it('reports a target no project has, for each value of a matrix field', () => {
    expect(check('npx nx affected -t compile')).toEqual([expect.stringContaining("no project has a target 'compile'")]);
    expect(check("npx nx run-many -t build-${{ matrix.arch }} --exclude='*,!tag:hook:image'")).toEqual(
      expect.arrayContaining([expect.stringContaining("no project has a target 'build-x86_64'")]),
    );
  });

  it('reports a project or tag that does not exist', () => {
    expect(check("npx nx affected -t build --exclude='*,!kernel-nope'")).toEqual([expect.stringContaining("no project 'kernel-nope'")]);
    expect(check("npx nx affected -t build --exclude='*,!tag:hook:imgae'")).toEqual([expect.stringContaining("no project has the tag 'hook:imgae'")]);
    expect(check('npx nx run ${{ matrix.kernel }}:kernel')).toEqual(expect.arrayContaining([expect.stringContaining('has no target kernel')]));
  });

  it('reports a matrix field that gha-matrix does not write', () => {
    expect(check('./hook kernel ${{ matrix.flavor }}')).toEqual([expect.stringContaining('matrix.flavor is not a field of the gha-matrix items')]);
  });

  it('reports nx affected without nx-set-shas or without the history', () => {
    expect(check('npx nx affected -t build', base.replace('      - uses: nrwl/nx-set-shas@v5\n', ''))).toEqual([
      expect.stringContaining('nx affected runs before nrwl/nx-set-shas'),
    ]);
    expect(check('npx nx affected -t build', base.replace('        with:\n          fetch-depth: 0\n', ''))).toEqual([
      expect.stringContaining('fetch-depth: 0'),
    ]);
  });

  it('reports a read-write cache token handed to pull requests', () => {
    const pr = base
      .replace('  push: {}', '  pull_request: {}')
      .replace('jobs:', 'env:\n  NX_SELF_HOSTED_REMOTE_CACHE_SERVER: ${{ vars.NX_CACHE_URL }}\n  NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN: ${{ secrets.NX_CACHE_RW }}\njobs:');
    expect(check('npx nx affected -t build', pr)).toEqual(
      expect.arrayContaining([expect.stringContaining('must give them the read-only token')]),
    );
  });
});

describe('shellCommands', () => {
  it('finds hook and nx commands in a multi-line script', () => {
    expect(shellCommands("bash scripts/setup.sh && ./hook kernel x DO_PUSH=yes\nnpx nx affected \\\n  -t build --exclude='*,!y'\necho nx")).toEqual([
      ['', 'hook', 'kernel', 'x', 'DO_PUSH=yes'],
      ['', 'nx', 'affected', '-t', 'build', '--exclude=*,!y'],
    ]);
  });
});
