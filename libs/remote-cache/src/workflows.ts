/**
 * The check of .github/workflows that the test command runs, in place of actionlint (a Go
 * binary downloaded from GitHub, which this project's machines cannot reach):
 * - each workflow against GitHub's workflow JSON schema (SchemaStore's, shipped inside the pinned
 *   npm package @action-validator/core);
 * - every `hook` command a step runs exists, and every Nx target, project and matrix field a step
 *   names exists in this workspace (so a renamed target cannot silently build nothing);
 * - `nx affected` runs after nrwl/nx-set-shas on a full-history checkout, and a workflow that pull
 *   requests trigger never hands them the read-write cache token.
 */
import { validateWorkflow, type ValidationError } from '@action-validator/core';
import { parse } from 'yaml';

export interface WorkspaceFacts {
  /** Project name to its target names. */
  projects: ReadonlyMap<string, ReadonlySet<string>>;
  /** Project name to its tags. */
  tags: ReadonlyMap<string, readonly string[]>;
  /** True when `hook <word>` is a command (or alias). */
  isHookCommand(word: string): boolean;
  /** gha-matrix output name (e.g. kernels_json) to the values each field takes over its items. */
  matrices: ReadonlyMap<string, ReadonlyMap<string, readonly string[]>>;
}

interface Step {
  id?: string;
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  if?: string;
}

interface Job {
  needs?: string | string[];
  env?: Record<string, unknown>;
  outputs?: Record<string, string>;
  strategy?: { matrix?: { include?: unknown } };
  steps?: Step[];
}

interface Workflow {
  on?: unknown;
  env?: Record<string, unknown>;
  jobs?: Record<string, Job>;
}

const NX_SUBCOMMANDS = new Set(['affected', 'run-many', 'run', 'show', 'graph', 'reset']);

/** Every problem in one workflow file, as `file: where: what` lines; empty when it is fine. */
export function checkWorkflow(file: string, source: string, facts: WorkspaceFacts): string[] {
  const problems = validateWorkflow(source).errors.flatMap((e) => schemaMessages(e)).map((m) => `${file}: ${m}`);
  if (problems.length > 0) return problems;
  const workflow = parse(source) as Workflow;
  const pullRequests = triggers(workflow.on).some((t) => t.startsWith('pull_request'));
  for (const [jobName, job] of Object.entries(workflow.jobs ?? {})) {
    const where = (step: number) => `${file}: jobs.${jobName}.steps[${step}]`;
    const matrixFields = matrixOf(workflow, jobName, job, facts, (m) => problems.push(`${file}: jobs.${jobName}: ${m}`));
    let shasSet = false;
    let fullHistory = false;
    (job.steps ?? []).forEach((step, index) => {
      if (step.uses?.startsWith('actions/checkout@') && String(step.with?.['fetch-depth']) === '0') fullHistory = true;
      if (step.uses?.startsWith('nrwl/nx-set-shas@')) shasSet = true;
      for (const text of [step.run, step.if, ...Object.values(step.with ?? {}).map(String)]) {
        for (const m of unknownMatrixFields(text, matrixFields)) problems.push(`${where(index)}: ${m}`);
      }
      if (!step.run) return;
      for (const command of shellCommands(step.run)) {
        const found = checkCommand(command, matrixFields, facts);
        for (const m of found) problems.push(`${where(index)}: ${m}`);
        if (command[1] === 'nx' && command[2] === 'affected') {
          if (!shasSet && !command.some((a) => a.startsWith('--base'))) problems.push(`${where(index)}: nx affected runs before nrwl/nx-set-shas (no base commit to compare with)`);
          if (!fullHistory) problems.push(`${where(index)}: nx affected needs the history: give actions/checkout fetch-depth: 0`);
        }
        if (command[1] === 'nx' && pullRequests && !cacheEnvOf(workflow, job).server) {
          problems.push(`${where(index)}: runs Nx without NX_SELF_HOSTED_REMOTE_CACHE_SERVER in the job's or workflow's env`);
        }
      }
    });
    const token = cacheEnvOf(workflow, job).token;
    if (pullRequests && token !== undefined && !/NX_CACHE_RO/.test(token)) {
      problems.push(`${file}: jobs.${jobName}: pull requests trigger this workflow, so NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN must give them the read-only token (secrets.NX_CACHE_RO), not '${token}'`);
    }
  }
  return problems;
}

function schemaMessages(error: ValidationError): string[] {
  const states = 'states' in error ? error.states : undefined;
  // A oneOf failure: the first alternative (a normal job, not a reusable-workflow call) says why.
  if (states && states.length > 0) return states[0].errors.flatMap((e) => schemaMessages(e as ValidationError));
  const where = 'path' in error ? error.path : 'location' in error && error.location ? `line ${error.location.line}` : '';
  return [`${where || '/'}: ${error.detail ?? error.title}`];
}

function triggers(on: unknown): string[] {
  if (typeof on === 'string') return [on];
  if (Array.isArray(on)) return on.map(String);
  return on && typeof on === 'object' ? Object.keys(on) : [];
}

function cacheEnvOf(workflow: Workflow, job: Job): { server?: string; token?: string } {
  const declared = { ...workflow.env, ...job.env };
  const text = (key: string) => (declared[key] === undefined ? undefined : String(declared[key]));
  return { server: text('NX_SELF_HOSTED_REMOTE_CACHE_SERVER'), token: text('NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN') };
}

/**
 * The fields (and their values) of a job's matrix when it comes from gha-matrix
 * (`include: ${{ fromJSON(needs.<job>.outputs.<name>) }}` with that output set by `hook gha-matrix`).
 */
function matrixOf(workflow: Workflow, jobName: string, job: Job, facts: WorkspaceFacts, problem: (m: string) => void): ReadonlyMap<string, readonly string[]> | undefined {
  const include = job.strategy?.matrix?.include;
  if (typeof include !== 'string') return undefined;
  const ref = /fromJSON\(\s*needs\.([\w-]+)\.outputs\.([\w-]+)\s*\)/.exec(include);
  if (!ref) return undefined;
  const [, producerName, outputName] = ref;
  const needs = [job.needs ?? []].flat();
  if (!needs.includes(producerName)) problem(`its matrix reads needs.${producerName} but the job does not need ${producerName}`);
  const producer = workflow.jobs?.[producerName];
  const value = producer?.outputs?.[outputName];
  const step = value && /steps\.([\w-]+)\.outputs\.([\w-]+)/.exec(value);
  if (!producer || !step) {
    problem(`its matrix reads needs.${producerName}.outputs.${outputName}, which job ${producerName} does not set from a step`);
    return undefined;
  }
  const [, stepId, matrixName] = step;
  const runsGhaMatrix = (producer.steps ?? []).some((s) => s.id === stepId && shellCommands(s.run ?? '').some((c) => c[1] === 'hook' && c[2] === 'gha-matrix'));
  if (!runsGhaMatrix) return undefined;
  const fields = facts.matrices.get(matrixName);
  if (!fields) problem(`its matrix reads ${matrixName}, which hook gha-matrix does not write (it writes ${[...facts.matrices.keys()].join(', ')})`);
  void jobName;
  return fields;
}

function unknownMatrixFields(text: string | undefined, fields: ReadonlyMap<string, readonly string[]> | undefined): string[] {
  if (!text || !fields) return [];
  return [...text.matchAll(/matrix\.([\w-]+)/g)].map((m) => m[1]).filter((f) => !fields.has(f)).map((f) => `matrix.${f} is not a field of the gha-matrix items (${[...fields.keys()].join(', ')})`);
}

/**
 * The `hook` and `nx` commands of a step's script, normalised to ['', 'hook'|'nx', args...],
 * with line continuations joined and quotes removed.
 */
export function shellCommands(script: string): string[][] {
  const commands: string[][] = [];
  const joined = script.replace(/\\\n/g, ' ');
  for (const line of joined.split(/\n|&&|\|\||;/)) {
    const words = (line.match(/(?:'[^']*'|"[^"]*"|\$\{\{.*?\}\}|[^\s'"])+/g) ?? []).map((w) => w.replace(/'([^']*)'|"([^"]*)"/g, '$1$2'));
    const start = words.findIndex((w) => w === './hook' || w === 'hook' || w === 'nx');
    if (start < 0) continue;
    const previous = words[start - 1];
    if (words[start] !== './hook' && !(previous === 'npx' || previous === undefined)) continue;
    const tool = words[start] === 'nx' ? 'nx' : 'hook';
    commands.push(['', tool, ...words.slice(start + 1)]);
  }
  return commands;
}

/** Expands `${{ matrix.<field> }}` over the values the field takes (one string per value). */
function expand(word: string, fields: ReadonlyMap<string, readonly string[]> | undefined): string[] {
  const m = /\$\{\{\s*matrix\.([\w-]+)\s*\}\}/.exec(word);
  if (!m) return /\$\{\{/.test(word) ? [] : [word];
  const values = fields?.get(m[1]) ?? [];
  return values.flatMap((v) => expand(word.replace(m[0], v), fields));
}

function checkCommand(command: string[], fields: ReadonlyMap<string, readonly string[]> | undefined, facts: WorkspaceFacts): string[] {
  const [, tool, sub, ...args] = command;
  if (tool === 'hook') {
    if (sub === undefined || sub.includes('=')) return [];
    return facts.isHookCommand(sub) ? [] : [`'hook ${sub}' is not a hook command`];
  }
  if (!NX_SUBCOMMANDS.has(sub)) return [`'nx ${sub}' is not an Nx command this check knows (${[...NX_SUBCOMMANDS].join(', ')})`];
  const problems: string[] = [];
  const options = optionValues(args);
  if (sub === 'run') {
    const taskId = args.find((a) => !a.startsWith('-'));
    for (const id of expand(taskId ?? '', fields)) {
      const [project, target] = id.split(':');
      if (!facts.projects.has(project)) problems.push(`'nx run ${id}': no project ${project}`);
      else if (!facts.projects.get(project)?.has(target)) problems.push(`'nx run ${id}': project ${project} has no target ${target}`);
    }
    return problems;
  }
  for (const targetWord of options.get('targets') ?? []) {
    for (const target of expand(targetWord, fields)) {
      if (![...facts.projects.values()].some((targets) => targets.has(target))) problems.push(`'nx ${sub}': no project has a target '${target}'`);
    }
  }
  for (const selector of [...(options.get('projects') ?? []), ...(options.get('exclude') ?? [])]) {
    for (const value of expand(selector, fields)) {
      for (const pattern of value.split(',').map((p) => p.replace(/^!/, '')).filter(Boolean)) {
        if (pattern.includes('*')) continue;
        if (pattern.startsWith('tag:')) {
          const tag = pattern.slice(4);
          if (![...facts.tags.values()].some((tags) => tags.includes(tag))) problems.push(`'nx ${sub}': no project has the tag '${tag}'`);
        } else if (!facts.projects.has(pattern)) problems.push(`'nx ${sub}': no project '${pattern}'`);
      }
    }
  }
  return problems;
}

/** `-t a b`, `--targets=a,b`, `--target a`, `-p x`, `--projects=x`, `--exclude=...` as lists. */
function optionValues(args: readonly string[]): Map<string, string[]> {
  const names: Record<string, string> = { '-t': 'targets', '--targets': 'targets', '--target': 'targets', '-p': 'projects', '--projects': 'projects', '--exclude': 'exclude' };
  const values = new Map<string, string[]>();
  for (let i = 0; i < args.length; i++) {
    const [flag, inline] = args[i].split(/=(.*)/s, 2);
    const name = names[flag];
    if (!name) continue;
    const list = values.get(name) ?? [];
    if (inline !== undefined) list.push(...inline.split(','));
    else {
      // Space-separated values follow until the next option.
      while (i + 1 < args.length && !args[i + 1].startsWith('-')) list.push(...args[++i].split(','));
    }
    values.set(name, list.filter(Boolean));
  }
  return values;
}
