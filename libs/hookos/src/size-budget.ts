/**
 * Size budgets (issue 12): what a flavor and each image may weigh, kept beside what they limit.
 * - `flavors/<id>/size-budget.yaml`: `compressed` (kernel + initramfs as a machine downloads
 *   them) and `unpacked` (the initramfs cpio as it lands in RAM);
 * - `images/size-budgets.yaml`: per image folder, the image's size (config and layers as stored
 *   in its dist/ OCI layout, i.e. the unpacked layer tars of a built image).
 * A figure over its budget is a warning in the build log and the size report; with
 * HOOK_SIZE_BUDGET=enforce (what CI sets for the default flavors) it fails the build, before
 * anything is written to dist/hook.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { UserError, formatBytes, log } from '@hook/log';
import { setting } from '@hook/settings';

export const FLAVOR_BUDGET_FILE = 'size-budget.yaml';
export const IMAGE_BUDGETS_FILE = 'images/size-budgets.yaml';

const UNITS: Record<string, number> = { B: 1, kB: 1e3, KB: 1e3, MB: 1e6, GB: 1e9, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 };

/** `100 MB` (10^6 bytes), `300 MiB` (2^20 bytes) or a plain number of bytes. */
export function parseSize(value: unknown, where: string): number {
  if (typeof value === 'number' && Number.isFinite(value) && value > 0) return value;
  const match = typeof value === 'string' ? /^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]+)?\s*$/.exec(value) : null;
  const unit = match ? (match[2] ?? 'B') : '';
  if (!match || !(unit in UNITS)) {
    throw new UserError(`${where}: '${String(value)}' is not a size; write e.g. 100 MB (10^6 bytes) or 300 MiB (2^20 bytes)`);
  }
  return Math.round(Number(match[1]) * UNITS[unit]);
}

export interface FlavorBudget {
  compressed?: number;
  unpacked?: number;
}

function readYamlMap(path: string, label: string): Map<string, unknown> | undefined {
  if (!existsSync(path)) return undefined;
  const doc = parseDocument(readFileSync(path, 'utf8'));
  if (doc.errors.length) throw new UserError(`${label}: ${doc.errors[0].message.split('\n')[0]}`);
  const value = doc.toJS() ?? {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new UserError(`${label}: expected keys with sizes, e.g. 'compressed: 100 MB'`);
  return new Map(Object.entries(value));
}

export function readFlavorBudget(workspaceRoot: string, flavorId: string): FlavorBudget | undefined {
  const label = `flavors/${flavorId}/${FLAVOR_BUDGET_FILE}`;
  const map = readYamlMap(join(workspaceRoot, 'flavors', flavorId, FLAVOR_BUDGET_FILE), label);
  if (!map) return undefined;
  const budget: FlavorBudget = {};
  for (const [key, value] of map) {
    if (key !== 'compressed' && key !== 'unpacked') throw new UserError(`${label}: unknown key '${key}'; the keys are compressed and unpacked`);
    budget[key] = parseSize(value, `${label}: ${key}`);
  }
  return budget;
}

export function readImageBudgets(workspaceRoot: string): Map<string, number> {
  const map = readYamlMap(join(workspaceRoot, IMAGE_BUDGETS_FILE), IMAGE_BUDGETS_FILE) ?? new Map();
  return new Map([...map].map(([name, value]) => [name, parseSize(value, `${IMAGE_BUDGETS_FILE}: ${name}`)]));
}

export interface BudgetRow {
  what: string;
  actual: number;
  budget?: number;
}

export interface SizeFigures {
  kernelBytes: number;
  initramfsBytes: number;
  unpackedBytes: number;
  /** Image folder name -> size as stored in its OCI layout. */
  images: Map<string, number>;
}

/** Every figure of a flavor with its budget (when one is set), flavor figures first. */
export function budgetRows(figures: SizeFigures, flavor: FlavorBudget | undefined, images: Map<string, number>): BudgetRow[] {
  return [
    { what: 'kernel + initramfs (compressed)', actual: figures.kernelBytes + figures.initramfsBytes, budget: flavor?.compressed },
    { what: 'initramfs unpacked (cpio)', actual: figures.unpackedBytes, budget: flavor?.unpacked },
    ...[...figures.images].sort((a, b) => b[1] - a[1]).map(([name, size]) => ({ what: `image ${name}`, actual: size, budget: images.get(name) })),
  ];
}

export const overBudget = (rows: BudgetRow[]) => rows.filter((r) => r.budget !== undefined && r.actual > r.budget);

const bytes = (n: number) => `${formatBytes(n)} (${(n / 1e6).toFixed(1)} MB)`;

export function budgetMarkdown(rows: BudgetRow[], flavorId: string): string {
  const lines = [
    '### Budgets',
    '',
    `Flavor budget: \`flavors/${flavorId}/${FLAVOR_BUDGET_FILE}\`; image budgets: \`${IMAGE_BUDGETS_FILE}\`.`,
    '',
    '| Figure | Size | Budget | Used |',
    '|---|---:|---:|---|',
    ...rows.map((r) => {
      const used = r.budget === undefined ? 'no budget' : `${((100 * r.actual) / r.budget).toFixed(0)}%${r.actual > r.budget ? ' **OVER**' : ''}`;
      return `| ${r.what} | ${bytes(r.actual)} | ${r.budget === undefined ? '—' : bytes(r.budget)} | ${used} |`;
    }),
    '',
  ];
  return lines.join('\n');
}

/** Warns for every figure over budget; with HOOK_SIZE_BUDGET=enforce, one error line instead. */
export function checkBudgets(rows: BudgetRow[], flavorId: string, env: NodeJS.ProcessEnv): void {
  const mode = setting(env, 'HOOK_SIZE_BUDGET');
  const over = overBudget(rows);
  if (!over.length) return;
  const text = over.map((r) => `${r.what} ${formatBytes(r.actual)} > ${formatBytes(r.budget as number)}`).join('; ');
  if (mode === 'enforce') {
    throw new UserError(`${flavorId} is over its size budget: ${text} (reduce it, or raise the budget in flavors/${flavorId}/${FLAVOR_BUDGET_FILE} or ${IMAGE_BUDGETS_FILE})`);
  }
  log.warn(`${flavorId} is over its size budget: ${text}`);
}
