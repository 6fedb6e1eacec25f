/**
 * Benchmark: @hook/oci's registry client pushing and pulling a large layer through a real
 * registry on loopback, against curl doing the same HTTP requests (the floor: no hashing, no
 * verification). Not a test: it prints figures.
 *
 *   SWC_NODE_PROJECT=tsconfig.base.json node -r @swc-node/register bench/oci-transfer.ts [--mib 128] [--runs 3]
 *
 * Needs Debian packages: docker-registry, curl.
 * The layer is random bytes (incompressible), so zlib is not in the measurement; pulling
 * includes writing into an OCI layout with digest verification, as the build does.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { appendFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatBytes } from '@hook/log';
import { run } from '@hook/process';
import { MediaType, OciLayout, RegistryClient, pullImageToLayout, pushLayoutImage } from '@hook/oci';
import { startRegistry } from '@hook/testing';

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

async function timed<T>(fn: () => Promise<T>): Promise<{ seconds: number; peakRss: number; value: T }> {
  let peakRss = process.memoryUsage().rss;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 20);
  const started = process.hrtime.bigint();
  try {
    const value = await fn();
    return { seconds: Number(process.hrtime.bigint() - started) / 1e9, peakRss, value };
  } finally {
    clearInterval(sampler);
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function main(): Promise<void> {
  const mib = option('mib', 128);
  const runs = option('runs', 3);
  const registry = await startRegistry();
  const work = await mkdtemp(join(tmpdir(), 'hook-oci-bench-'));
  try {
    const layout = await OciLayout.create(join(work, 'src'));
    // Written in 1 MiB pieces so the process does not hold the layer in memory.
    for (let i = 0; i < mib; i++) await appendFile(join(work, 'layer.bin'), randomBytes(1024 * 1024));
    const layer = await layout.writeBlob(createReadStream(join(work, 'layer.bin')), MediaType.ociLayerGzip);
    const config = await layout.writeJsonBlob({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }, MediaType.ociConfig);
    const manifest = await layout.writeJsonBlob({ schemaVersion: 2, mediaType: MediaType.ociManifest, config, layers: [layer] }, MediaType.ociManifest);
    await layout.addManifest(manifest, 'bench');
    const rows: Array<[string, number[], number[]]> = [];
    const record = (name: string, seconds: number, rss: number) => {
      let row = rows.find((r) => r[0] === name);
      if (!row) rows.push((row = [name, [], []]));
      row[1].push(seconds);
      row[2].push(rss);
    };

    for (let i = 0; i < runs; i++) {
      // Each run pushes to a fresh repository so nothing is skipped as existing.
      const monolithic = new RegistryClient({ env: {} });
      const chunked = new RegistryClient({ env: {}, chunkSize: 16 * 1024 * 1024 });
      let t = await timed(() => pushLayoutImage(layout, 'bench', `${registry.host}/bench/mono${i}:1`, { client: monolithic }));
      record('ours: push (monolithic PUT)', t.seconds, t.peakRss);
      t = await timed(() => pushLayoutImage(layout, 'bench', `${registry.host}/bench/chunk${i}:1`, { client: chunked }));
      record('ours: push (16 MiB PATCH chunks)', t.seconds, t.peakRss);
      const dest = await OciLayout.create(join(work, `pull${i}`));
      const p = await timed(() => pullImageToLayout(`${registry.host}/bench/mono${i}:1`, undefined, dest, { client: monolithic }));
      record('ours: pull into a layout (verified)', p.seconds, p.peakRss);

      // curl: the same upload (POST, then PUT with the body) and a download to a file.
      const base = `http://${registry.host}/v2/bench/curl${i}`;
      const started = process.hrtime.bigint();
      const post = await run('curl', ['-s', '-o', '/dev/null', '-D', '-', '-X', 'POST', `${base}/blobs/uploads/`]);
      const location = /^location:\s*(\S+)/im.exec(post.stdout)![1]!;
      const url = new URL(location, base);
      url.searchParams.set('digest', layer.digest);
      await run('curl', ['-sf', '-o', '/dev/null', '-X', 'PUT', '-H', 'content-type: application/octet-stream', '--data-binary', `@${join(work, 'layer.bin')}`, url.toString()]);
      record('curl: push blob', Number(process.hrtime.bigint() - started) / 1e9, 0);
      const startedGet = process.hrtime.bigint();
      await run('curl', ['-sf', '-o', join(work, `curl${i}.bin`), `${base}/blobs/${layer.digest}`]);
      record('curl: pull blob to a file', Number(process.hrtime.bigint() - startedGet) / 1e9, 0);
      await rm(join(work, `curl${i}.bin`));
      await rm(join(work, `pull${i}`), { recursive: true });
    }
    console.log(`baseline RSS ${formatBytes(process.memoryUsage().rss)}; layer: ${formatBytes(layer.size)} random bytes, ${runs} runs, registry ${registry.host}; median wall time, MiB/s, peak RSS of this process`);
    for (const [name, seconds, rss] of rows) {
      const s = median(seconds);
      const peak = Math.max(...rss);
      console.log(`${name.padEnd(40)} ${s.toFixed(2).padStart(6)} s  ${(mib / s).toFixed(0).padStart(5)} MiB/s${peak ? `  ${formatBytes(peak)}` : ''}`);
    }
  } finally {
    await registry.stop();
    await rm(work, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
