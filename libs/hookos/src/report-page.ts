/**
 * dist/hook/report-<OUTPUT_ID>.html: one static page, no network access, that shows a flavor to
 * people: a treemap of the initramfs by container and folder (unpacked sizes) beside the size
 * budgets (compressed sizes), the hardware the kept modules claim with a search box, and the
 * SBOM's components. The data is embedded as JSON; a small script draws it. `#q=<text>` in the
 * address fills the search box (a link to "does it drive 1077:8070?").
 */
import { idsByModule, type HardwareIndex } from '@hook/hardware';
import type { DirectorySize } from '@hook/initramfs';
import type { BudgetRow } from './size-budget';

export interface ReportPageInput {
  flavorId: string;
  outputId: string;
  directories: DirectorySize[];
  budgets: BudgetRow[];
  hardware?: HardwareIndex;
  /** The HookOS SBOM, as written. */
  sbomJson: string;
}

/** A folder of the treemap: two levels, a container or top folder and what is inside it. */
interface Tile {
  name: string;
  bytes: number;
  children: Array<{ name: string; bytes: number }>;
}

/** Containers and top folders, each with the folders one level inside (a container's below lower/). */
export function treemapTiles(directories: DirectorySize[]): Tile[] {
  const bytesOf = new Map(directories.map((d) => [d.path, d.bytes]));
  const groups: Tile[] = [];
  const containerRoot = (path: string) => /^\/containers\/[^/]+\/[^/]+$/.test(path);
  for (const dir of directories) {
    const isTop = /^\/[^/]+$/.test(dir.path) && dir.path !== '/containers';
    if (!isTop && !containerRoot(dir.path)) continue;
    const inner = containerRoot(dir.path) && bytesOf.has(`${dir.path}/lower`) ? `${dir.path}/lower` : dir.path;
    const depth = inner.split('/').length + 1;
    const children = directories
      .filter((d) => d.path.startsWith(`${inner}/`) && d.path.split('/').length === depth)
      .map((d) => ({ name: d.path.slice(inner.length + 1), bytes: d.bytes }));
    const inChildren = children.reduce((sum, c) => sum + c.bytes, 0);
    if (dir.bytes - inChildren > 0) children.push({ name: '(files)', bytes: dir.bytes - inChildren });
    groups.push({ name: dir.path.replace(/^\/containers\//, ''), bytes: dir.bytes, children: children.filter((c) => c.bytes > 0).sort((a, b) => b.bytes - a.bytes) });
  }
  return groups.filter((g) => g.bytes > 0).sort((a, b) => b.bytes - a.bytes);
}

interface HardwareRow {
  module: string;
  class: string;
  firmware: string;
  ids: string[];
}

function hardwareRows(index: HardwareIndex | undefined): HardwareRow[] {
  if (!index) return [];
  return [...idsByModule(index)]
    .filter(([name]) => index.modules[name]?.kept)
    .map(([name, ids]) => ({ module: name, class: index.modules[name].class, firmware: firmwareStatus(index, name), ids }))
    .sort((a, b) => a.class.localeCompare(b.class) || a.module.localeCompare(b.module));
}

function firmwareStatus(index: HardwareIndex, name: string): string {
  const files = [name, ...(index.modules[name]?.depends ?? [])].flatMap((m) => index.modules[m]?.firmware ?? []);
  if (files.length === 0) return '';
  const missing = files.filter((f) => !f.present).length;
  return missing ? `${files.length - missing} present, ${missing} missing` : `${files.length} present`;
}

interface ComponentRow {
  type: string;
  name: string;
  version: string;
  purl: string;
  parts: number;
}

function sbomRows(sbomJson: string): ComponentRow[] {
  type Component = { type?: string; name?: string; version?: string; purl?: string; components?: Component[] };
  const doc = JSON.parse(sbomJson) as { components?: Component[] };
  return (doc.components ?? []).map((c) => ({ type: c.type ?? '', name: c.name ?? '', version: c.version ?? '', purl: c.purl ?? '', parts: c.components?.length ?? 0 }));
}

/** JSON that can sit inside a <script> element. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

export function reportPageHtml(input: ReportPageInput): string {
  const data = {
    flavorId: input.flavorId,
    outputId: input.outputId,
    release: input.hardware?.release ?? '',
    tiles: treemapTiles(input.directories),
    budgets: input.budgets,
    hardware: hardwareRows(input.hardware),
    components: sbomRows(input.sbomJson),
  };
  const title = `HookOS ${input.flavorId} (${input.outputId})`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<title>${title}</title>
<style>
body { font: 14px system-ui, sans-serif; margin: 1.5em; color: #1b1f24; }
h1 { font-size: 1.4em; } h2 { font-size: 1.15em; margin-top: 1.6em; }
table { border-collapse: collapse; } td, th { padding: 2px 8px; border-bottom: 1px solid #ddd; text-align: left; vertical-align: top; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
tr.over td { color: #b00020; font-weight: bold; }
#treemap { position: relative; width: 100%; height: 520px; background: #eee; }
.group { position: absolute; box-sizing: border-box; border: 2px solid #fff; overflow: hidden; }
.group > .label { position: absolute; left: 3px; top: 1px; font-weight: bold; font-size: 12px; z-index: 1; text-shadow: 0 0 3px #fff; }
.tile { position: absolute; box-sizing: border-box; border: 1px solid rgba(255,255,255,.7); font-size: 11px; overflow: hidden; padding: 14px 2px 0 3px; }
#search { font-size: 1em; padding: 4px; width: 24em; }
.ids { max-width: 60em; font-family: ui-monospace, monospace; font-size: 12px; }
</style>
</head>
<body>
<h1>${title}</h1>
<p id="summary"></p>
<h2>Budgets (compressed, as downloaded and as stored)</h2>
<table id="budgets"><thead><tr><th>Figure</th><th>Size</th><th>Budget</th><th>Used</th></tr></thead><tbody></tbody></table>
<h2>The initramfs unpacked, by container and folder</h2>
<div id="treemap"></div>
<h2>Hardware the kept modules claim</h2>
<p><input id="search" type="search" placeholder="vendor:device, module or class (e.g. 1077:8070, mlx5, storage)" autocomplete="off"> <span id="matches"></span></p>
<table id="hardware"><thead><tr><th>Module</th><th>Class</th><th>Firmware</th><th>IDs</th></tr></thead><tbody></tbody></table>
<h2>SBOM components</h2>
<table id="components"><thead><tr><th>Type</th><th>Name</th><th>Version</th><th>Package URL</th><th>Parts</th></tr></thead><tbody></tbody></table>
<script id="data" type="application/json">${scriptJson(data)}</script>
<script>
${PAGE_SCRIPT}
</script>
</body>
</html>
`;
}

/** Draws the page from the embedded data (plain DOM, no library: the page works offline). */
const PAGE_SCRIPT = String.raw`
const data = JSON.parse(document.getElementById('data').textContent);
const units = ['B', 'KiB', 'MiB', 'GiB'];
function size(bytes) { let v = bytes, u = 0; while (v >= 1024 && u < units.length - 1) { v /= 1024; u++; } return v.toFixed(u ? 1 : 0) + ' ' + units[u]; }
function cell(row, text, cls) { const td = row.insertCell(); td.textContent = text; if (cls) td.className = cls; return td; }

document.getElementById('summary').textContent = data.tiles.length + ' containers and folders, ' + size(data.tiles.reduce((s, t) => s + t.bytes, 0)) + ' unpacked' + (data.release ? '; kernel ' + data.release : '') + '.';

const budgets = document.querySelector('#budgets tbody');
for (const b of data.budgets) {
  const row = budgets.insertRow();
  if (b.budget !== undefined && b.actual > b.budget) row.className = 'over';
  cell(row, b.what); cell(row, size(b.actual), 'n'); cell(row, b.budget === undefined ? '' : size(b.budget), 'n');
  cell(row, b.budget === undefined ? '' : Math.round((100 * b.actual) / b.budget) + '%' + (b.actual > b.budget ? ' OVER' : ''), 'n');
}

// Squarified treemap: rows of items laid along the shorter side, keeping tiles close to square.
function squarify(items, x, y, w, h) {
  const total = items.reduce((s, i) => s + i.bytes, 0);
  const out = [];
  let rest = items.slice(), rx = x, ry = y, rw = w, rh = h, left = total;
  while (rest.length) {
    const side = Math.min(rw, rh), scale = (rw * rh) / left;
    let row = [], best = Infinity;
    for (const item of rest) {
      const next = row.concat([item]), sum = next.reduce((s, i) => s + i.bytes * scale, 0);
      const worst = Math.max(...next.map((i) => Math.max((side * side * i.bytes * scale) / (sum * sum), (sum * sum) / (side * side * i.bytes * scale))));
      if (worst > best) break;
      row = next; best = worst;
    }
    const rowBytes = row.reduce((s, i) => s + i.bytes, 0), thick = (rowBytes * scale) / side;
    let offset = 0;
    for (const item of row) {
      const len = (item.bytes * scale) / thick;
      out.push(rw >= rh ? { item, x: rx, y: ry + offset, w: thick, h: len } : { item, x: rx + offset, y: ry, w: len, h: thick });
      offset += len;
    }
    if (rw >= rh) { rx += thick; rw -= thick; } else { ry += thick; rh -= thick; }
    left -= rowBytes; rest = rest.slice(row.length);
  }
  return out;
}
const map = document.getElementById('treemap');
const W = map.clientWidth, H = map.clientHeight;
for (const [g, placed] of squarify(data.tiles.filter((t) => t.bytes > 0), 0, 0, W, H).entries()) {
  const div = document.createElement('div');
  div.className = 'group';
  Object.assign(div.style, { left: placed.x + 'px', top: placed.y + 'px', width: placed.w + 'px', height: placed.h + 'px' });
  div.title = placed.item.name + ': ' + size(placed.item.bytes);
  const label = document.createElement('div');
  label.className = 'label';
  label.textContent = placed.w > 60 && placed.h > 16 ? placed.item.name + ' ' + size(placed.item.bytes) : '';
  div.appendChild(label);
  const hue = (g * 47) % 360;
  for (const [i, inner] of squarify(placed.item.children.length ? placed.item.children : [{ name: placed.item.name, bytes: placed.item.bytes }], 0, 0, placed.w - 4, placed.h - 4).entries()) {
    const tile = document.createElement('div');
    tile.className = 'tile';
    Object.assign(tile.style, { left: inner.x + 'px', top: inner.y + 'px', width: inner.w + 'px', height: inner.h + 'px', background: 'hsl(' + hue + ', 55%, ' + (78 - (i % 4) * 6) + '%)' });
    tile.title = placed.item.name + '/' + inner.item.name + ': ' + size(inner.item.bytes);
    if (inner.w > 50 && inner.h > 28) tile.textContent = inner.item.name + ' ' + size(inner.item.bytes);
    div.appendChild(tile);
  }
  map.appendChild(div);
}

const hardware = document.querySelector('#hardware tbody');
const rows = data.hardware.map((h) => {
  const row = hardware.insertRow();
  cell(row, h.module); cell(row, h.class); cell(row, h.firmware); cell(row, h.ids.join(', '), 'ids');
  return { row, text: (h.module + ' ' + h.class + ' ' + h.ids.join(' ')).toLowerCase() };
});
const search = document.getElementById('search');
function filter() {
  const q = search.value.trim().toLowerCase();
  let shown = 0;
  for (const r of rows) { const hit = !q || r.text.includes(q); r.row.hidden = !hit; if (hit) shown++; }
  document.getElementById('matches').textContent = q ? shown + ' of ' + rows.length + ' modules' : rows.length + ' modules';
}
search.addEventListener('input', filter);
const asked = /[#&]q=([^&]*)/.exec(location.hash);
if (asked) search.value = decodeURIComponent(asked[1]);
filter();

const components = document.querySelector('#components tbody');
for (const c of data.components) {
  const row = components.insertRow();
  cell(row, c.type); cell(row, c.name); cell(row, c.version); cell(row, c.purl); cell(row, c.parts ? c.parts + ' parts' : '', 'n');
}
document.body.dataset.rendered = 'yes';
`;
