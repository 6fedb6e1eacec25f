/**
 * The iPXE script Tinkerbell's Smee serves to boot HookOS (monorepo
 * smee/internal/ipxe/script/hook.go, `HookScript`): the same lines, retries and `imgfree`, the
 * same kernel parameters in the same order, so a netboot here is the netboot of a data centre.
 */
import { UserError } from '@hook/log';
import { setting } from '@hook/settings';

export interface SmeeScriptValues {
  /** iPXE's ${arch}: x86_64 or aarch64 (Smee's default file names end in it). */
  arch: string;
  /** Where the kernel and initrd are, without a trailing slash. */
  downloadUrl: string;
  /** File names under downloadUrl (Smee: vmlinuz-${arch}, initramfs-${arch} unless named). */
  kernelName?: string;
  initrdName?: string;
  facility: string;
  /** Smee resolves it with nslookup first (iPXE's syslog takes an IP only); empty: no syslog. */
  syslogHost: string;
  /** host:port of the Tink server's gRPC. */
  grpcAuthority: string;
  tinkerbellTls: boolean;
  tinkerbellInsecureTls: boolean;
  /** The MAC address, or the Hardware's agent id. */
  workerId: string;
  hwAddr: string;
  vlanId?: string;
  /** Smee's extra kernel args and per-Hardware kernelParams, last (last one wins). */
  extraKernelParams?: string[];
  /**
   * The iPXE has no `nslookup` (Debian's ipxe-qemu ROM: "nslookup: command not found" ends the
   * script). Smee's own iPXE builds have it; for this one the syslog host is set as given.
   */
  ipxeWithoutNslookup?: boolean;
  /** Smee's defaults: 0 retries, 2 s apart. */
  retries?: number;
  retryDelaySeconds?: number;
}

/** Values iPXE would split or a kernel parameter cannot carry. */
const SAFE_VALUE = /^[^\s\\]*$/;

/** Smee's HookScript, rendered. */
export function smeeHookScript(values: SmeeScriptValues): string {
  const checked: Array<[string, string]> = [
    ['download URL', values.downloadUrl],
    ['facility', values.facility],
    ['syslog host', values.syslogHost],
    ['gRPC authority', values.grpcAuthority],
    ['worker id', values.workerId],
    ['hardware address', values.hwAddr],
    ['VLAN id', values.vlanId ?? ''],
    ...(values.extraKernelParams ?? []).map((param): [string, string] => ['kernel parameter', param]),
  ];
  for (const [what, value] of checked) {
    if (!SAFE_VALUE.test(value)) throw new UserError(`the iPXE script's ${what} '${value}' contains a space or a backslash; kernel parameters cannot carry them`);
  }
  const vlan = values.vlanId ? ` vlan_id=${values.vlanId}` : '';
  const extra = (values.extraKernelParams ?? []).map((param) => ` ${param}`).join('');
  const lines = ['#!ipxe', ''];
  if (values.syslogHost && values.ipxeWithoutNslookup) {
    lines.splice(1, 1, "# This iPXE has no nslookup (Smee's own iPXE resolves the syslog host with it): the host as given.", `set syslog ${values.syslogHost}`, '');
  } else if (values.syslogHost) {
    lines.splice(
      1,
      1,
      '# iPXE can only set the syslog server to an IP address, not a hostname (https://ipxe.org/cfg/syslog).',
      '# Resolve the (possibly FQDN) syslog host to an IP and use that for the syslog target.',
      `nslookup syslogserver ${values.syslogHost}`,
      'set syslog ${syslogserver}',
      '',
    );
  }
  lines.push(
    'echo Loading the Tinkerbell Hook iPXE script...',
    '',
    `set arch ${values.arch}`,
    `set download-url ${values.downloadUrl}`,
    `set kernel ${values.kernelName ?? 'vmlinuz-${arch}'}`,
    `set initrd ${values.initrdName ?? 'initramfs-${arch}'}`,
    `set retries:int32 ${values.retries ?? 0}`,
    `set retry_delay:int32 ${values.retryDelaySeconds ?? 2}`,
    '',
    'set idx:int32 0',
    ':retry_kernel',
    `kernel \${download-url}/\${kernel}${vlan} \\`,
    `facility=${values.facility} syslog_host=${values.syslogHost} grpc_authority=${values.grpcAuthority} tinkerbell_tls=${values.tinkerbellTls} tinkerbell_insecure_tls=${values.tinkerbellInsecureTls} worker_id=${values.workerId} hw_addr=${values.hwAddr} \\`,
    `modules=loop,squashfs,sd-mod,usb-storage intel_iommu=on iommu=pt initrd=\${initrd} console=tty0 console=ttyS1,115200${extra} && goto download_initrd || iseq \${idx} \${retries} && goto kernel-error || inc idx && echo retry in \${retry_delay} seconds ; sleep \${retry_delay} ; goto retry_kernel`,
    '',
    ':download_initrd',
    'set idx:int32 0',
    ':retry_initrd',
    'initrd ${download-url}/${initrd} && goto boot || iseq ${idx} ${retries} && goto initrd-error || inc idx && echo retry in ${retry_delay} seconds ; sleep ${retry_delay} ; goto retry_initrd',
    '',
    ':boot',
    'set idx:int32 0',
    ':retry_boot',
    'boot || iseq ${idx} ${retries} && goto boot-error || inc idx && echo retry in ${retry_delay} seconds ; sleep ${retry_delay} ; goto retry_boot',
    '',
    ':kernel-error',
    'echo Failed to load kernel',
    'imgfree',
    'exit',
    '',
    ':initrd-error',
    'echo Failed to load initrd',
    'imgfree',
    'exit',
    '',
    ':boot-error',
    'echo Failed to boot',
    'imgfree',
    'exit',
    '',
  );
  return lines.join('\n');
}

/** The kernel command line the script gives (what /proc/cmdline shows), with iPXE's variables filled in. */
export function smeeKernelParams(values: SmeeScriptValues): string {
  const initrd = values.initrdName ?? `initramfs-${values.arch}`;
  return [
    ...(values.vlanId ? [`vlan_id=${values.vlanId}`] : []),
    `facility=${values.facility}`,
    `syslog_host=${values.syslogHost}`,
    `grpc_authority=${values.grpcAuthority}`,
    `tinkerbell_tls=${values.tinkerbellTls}`,
    `tinkerbell_insecure_tls=${values.tinkerbellInsecureTls}`,
    `worker_id=${values.workerId}`,
    `hw_addr=${values.hwAddr}`,
    'modules=loop,squashfs,sd-mod,usb-storage',
    'intel_iommu=on',
    'iommu=pt',
    `initrd=${initrd}`,
    'console=tty0',
    'console=ttyS1,115200',
    ...(values.extraKernelParams ?? []),
  ].join(' ');
}

/**
 * The script's values for `hook run`/`hook serve`, from the TINK_* variables `hook run` takes
 * (TINK_SERVER, TINK_GRPC_PORT, TINK_TLS, TINK_INSECURE_TLS, TINK_WORKER_IMAGE, MAC, VLAN_ID,
 * FACILITY) as Smee fills them from its flags and the Hardware record.
 */
export function smeeValuesFromEnv(
  env: NodeJS.ProcessEnv,
  files: { arch: string; downloadUrl: string; kernelName: string; initrdName: string; mac: string },
): SmeeScriptValues {
  const server = setting(env, 'TINK_SERVER') ?? '';
  return {
    arch: files.arch,
    downloadUrl: files.downloadUrl,
    kernelName: files.kernelName,
    initrdName: files.initrdName,
    facility: setting(env, 'FACILITY'),
    syslogHost: server,
    grpcAuthority: server ? `${server}:${setting(env, 'TINK_GRPC_PORT')}` : '',
    tinkerbellTls: setting(env, 'TINK_TLS') === 'true',
    tinkerbellInsecureTls: setting(env, 'TINK_INSECURE_TLS') === 'true',
    workerId: files.mac,
    hwAddr: files.mac,
    vlanId: setting(env, 'VLAN_ID')?.toString(),
    // What Tinkerbell's Helm chart always appends.
    extraKernelParams: [`tink_worker_image=${setting(env, 'TINK_WORKER_IMAGE')}`],
  };
}

