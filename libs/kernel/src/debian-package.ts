/** METHOD debian: Debian's prebuilt linux-image package, through apt, trimmed for an installer. */
import { join } from 'node:path';
import { rm } from 'node:fs/promises';
import { UserError, log } from '@hook/log';
import type { KernelDefinition } from '@hook/inventory';
import { AptSuite, tempDirBeside } from '@hook/debian';
import { dockerArchOf, type KernelMetadata } from '@hook/layout';
import { sha256Hex } from '@hook/oci';
import { unpackKernelPackage, versionOfRelease } from './kernel-package';
import { addKernelFirmware } from './firmware';
import { installerPolicy, trimModules, writeReport } from './modules';
import { writeKernelOutputs } from './outputs';
import { kernelCacheDir, kernelOciBase, sourceDateEpoch } from './paths';

/** The real kernel package behind a metapackage such as linux-image-amd64. */
export async function resolveKernelPackage(apt: AptSuite, pkg: string): Promise<{ name: string; version: string }> {
  const version = await apt.candidate(pkg);
  if (!version) throw new UserError(`Debian ${apt.suite} has no package ${pkg} for ${apt.debArch}; check DEBIAN_SUITE and DEBIAN_PACKAGE`);
  const real = (await apt.depends(pkg, version)).find((d) => /^linux-image-\d/.test(d));
  if (!real || real === pkg) return { name: pkg, version };
  const realVersion = await apt.candidate(real);
  if (!realVersion) throw new UserError(`Debian ${apt.suite}: ${pkg} depends on ${real}, which apt cannot find`);
  return { name: real, version: realVersion };
}

export async function buildFromDebianPackage(options: { workspaceRoot: string; kernel: KernelDefinition; env: NodeJS.ProcessEnv }): Promise<KernelMetadata> {
  const { workspaceRoot, kernel, env } = options;
  const suite = kernel.DEBIAN_SUITE as string;
  const apt = new AptSuite(kernelCacheDir(workspaceRoot, env), suite, dockerArchOf(kernel.ARCH), env);
  const wanted = kernel.DEBIAN_PACKAGE ?? `linux-image-${dockerArchOf(kernel.ARCH)}`;
  const pkg = await resolveKernelPackage(apt, wanted);
  log.info(`kernel ${kernel.id}: Debian ${suite} ${wanted} -> ${pkg.name} ${pkg.version}`);
  const deb = await apt.download(pkg.name, pkg.version, kernelCacheDir(workspaceRoot, env, 'downloads'));

  const work = await tempDirBeside(kernelCacheDir(workspaceRoot, env, 'stage', kernel.id));
  try {
    const unpacked = await unpackKernelPackage(deb, work);
    const policy = installerPolicy(kernel.ARCH);
    const report = await trimModules(unpacked.modulesRoot, unpacked.release, policy);
    const reportPath = join(work, 'modules-report.md');
    await writeReport(reportPath, report);
    // The firmware the kept modules declare, from the same suite's non-free-firmware packages.
    const firmware = await addKernelFirmware({ workspaceRoot, env, arch: kernel.ARCH, rootDir: unpacked.modulesRoot, release: unpacked.release, config: unpacked.config, suite, workDir: work, trim: report });
    const version = versionOfRelease(unpacked.release);
    const hash = sha256Hex(`${pkg.name}=${pkg.version}`, JSON.stringify(policy), JSON.stringify(firmware.plan.packages)).slice(0, 8);
    const tag = `${version}-${hash}-${kernel.id.replace(/^hook-debian-/, '')}`;
    const metadata = await writeKernelOutputs(
      workspaceRoot,
      { image: unpacked.image, modulesRoot: unpacked.modulesRoot, systemMap: unpacked.systemMap, dtbsDir: kernel.ARCH === 'aarch64' ? unpacked.dtbsDir : undefined, extras: { 'modules-report.md': reportPath, ...firmware.extras }, config: unpacked.config, firmwarePackages: firmware.plan.packages },
      {
        id: kernel.id,
        method: 'debian',
        arch: kernel.ARCH,
        release: unpacked.release,
        version,
        tag,
        image: `${kernelOciBase(env)}-debian:${tag}`,
        source: { provider: 'debian-package', name: pkg.name, version: pkg.version },
      },
      sourceDateEpoch(env) ?? 0,
    );
    log.notice(`kernel ${kernel.id}: ${unpacked.release} written to dist/kernels/${kernel.id}`);
    return metadata;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
