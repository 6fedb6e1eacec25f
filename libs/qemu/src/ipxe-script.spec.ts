import { UserError } from '@hook/log';
import { smeeHookScript, smeeKernelParams, smeeValuesFromEnv, type SmeeScriptValues } from './ipxe-script';
import { describeDownload, parseListen } from './netboot-server';

/** The values of Smee's own test (monorepo smee/internal/ipxe/script, "no vlan"). */
const SMEE_TEST_VALUES: SmeeScriptValues = {
  arch: 'x86_64',
  grpcAuthority: '1.2.3.4:42113',
  tinkerbellTls: false,
  tinkerbellInsecureTls: false,
  workerId: '3c:ec:ef:4c:4f:54',
  syslogHost: '1.2.3.4',
  downloadUrl: 'http://location:8080/to/kernel/and/initrd',
  facility: 'onprem',
  extraKernelParams: ['tink_worker_image=quay.io/tinkerbell/tink-worker:v0.8.0', 'tinkerbell=packet'],
  hwAddr: '3c:ec:ef:4c:4f:54',
  retries: 10,
};

describe("Smee's HookScript", () => {
  it('renders the script Smee serves: syslog lookup, retries, imgfree, the parameters in Smee order', () => {
    const script = smeeHookScript(SMEE_TEST_VALUES);
    expect(script.split('\n').slice(0, 17)).toEqual([
      '#!ipxe',
      '# iPXE can only set the syslog server to an IP address, not a hostname (https://ipxe.org/cfg/syslog).',
      '# Resolve the (possibly FQDN) syslog host to an IP and use that for the syslog target.',
      'nslookup syslogserver 1.2.3.4',
      'set syslog ${syslogserver}',
      '',
      'echo Loading the Tinkerbell Hook iPXE script...',
      '',
      'set arch x86_64',
      'set download-url http://location:8080/to/kernel/and/initrd',
      'set kernel vmlinuz-${arch}',
      'set initrd initramfs-${arch}',
      'set retries:int32 10',
      'set retry_delay:int32 2',
      '',
      'set idx:int32 0',
      ':retry_kernel',
    ]);
    expect(script).toContain(
      'kernel ${download-url}/${kernel} \\\n' +
        'facility=onprem syslog_host=1.2.3.4 grpc_authority=1.2.3.4:42113 tinkerbell_tls=false tinkerbell_insecure_tls=false worker_id=3c:ec:ef:4c:4f:54 hw_addr=3c:ec:ef:4c:4f:54 \\\n' +
        'modules=loop,squashfs,sd-mod,usb-storage intel_iommu=on iommu=pt initrd=${initrd} console=tty0 console=ttyS1,115200 tink_worker_image=quay.io/tinkerbell/tink-worker:v0.8.0 tinkerbell=packet' +
        ' && goto download_initrd || iseq ${idx} ${retries} && goto kernel-error || inc idx && echo retry in ${retry_delay} seconds ; sleep ${retry_delay} ; goto retry_kernel\n',
    );
    expect(script).toContain('initrd ${download-url}/${initrd} && goto boot || iseq ${idx} ${retries} && goto initrd-error');
    expect(script).toContain('boot || iseq ${idx} ${retries} && goto boot-error');
    expect(script.match(/imgfree\nexit\n/g)).toHaveLength(3);
    expect(script.endsWith(':boot-error\necho Failed to boot\nimgfree\nexit\n')).toBe(true);
  });

  it('has no syslog lines without a syslog host, and puts vlan_id right after the kernel', () => {
    const script = smeeHookScript({ ...SMEE_TEST_VALUES, syslogHost: '', vlanId: '16', kernelName: 'vmlinuz-hook', initrdName: 'initramfs-hook' });
    expect(script.startsWith('#!ipxe\n\necho Loading the Tinkerbell Hook iPXE script...\n')).toBe(true);
    expect(script).toContain('kernel ${download-url}/${kernel} vlan_id=16 \\\nfacility=onprem syslog_host= grpc_authority=');
    expect(script).toContain('set kernel vmlinuz-hook\nset initrd initramfs-hook\n');
  });

  it("sets the syslog host as given for an iPXE without nslookup (Debian's ROM), and changes nothing else", () => {
    const smee = smeeHookScript(SMEE_TEST_VALUES);
    const debian = smeeHookScript({ ...SMEE_TEST_VALUES, ipxeWithoutNslookup: true });
    expect(debian).not.toContain('nslookup syslogserver');
    expect(debian.startsWith("#!ipxe\n# This iPXE has no nslookup (Smee's own iPXE resolves the syslog host with it): the host as given.\nset syslog 1.2.3.4\n\necho Loading")).toBe(true);
    expect(debian.slice(debian.indexOf('echo Loading'))).toBe(smee.slice(smee.indexOf('echo Loading')));
  });

  it('gives the command line the kernel sees, iPXE variables filled in', () => {
    expect(smeeKernelParams({ ...SMEE_TEST_VALUES, initrdName: 'initramfs-hook-debian-amd64' })).toBe(
      'facility=onprem syslog_host=1.2.3.4 grpc_authority=1.2.3.4:42113 tinkerbell_tls=false tinkerbell_insecure_tls=false ' +
        'worker_id=3c:ec:ef:4c:4f:54 hw_addr=3c:ec:ef:4c:4f:54 modules=loop,squashfs,sd-mod,usb-storage intel_iommu=on iommu=pt ' +
        'initrd=initramfs-hook-debian-amd64 console=tty0 console=ttyS1,115200 tink_worker_image=quay.io/tinkerbell/tink-worker:v0.8.0 tinkerbell=packet',
    );
  });

  it('takes the TINK_* variables hook run takes', () => {
    const files = { arch: 'x86_64', downloadUrl: 'http://10.0.2.100', kernelName: 'k', initrdName: 'i', mac: '52:54:00:12:34:56' };
    expect(smeeValuesFromEnv({ TINK_SERVER: '10.0.0.5', TINK_GRPC_PORT: '4000', TINK_TLS: 'true', TINK_WORKER_IMAGE: 'reg/agent:1', VLAN_ID: '7' }, files)).toMatchObject({
      syslogHost: '10.0.0.5',
      grpcAuthority: '10.0.0.5:4000',
      tinkerbellTls: true,
      tinkerbellInsecureTls: false,
      workerId: '52:54:00:12:34:56',
      hwAddr: '52:54:00:12:34:56',
      vlanId: '7',
      facility: 'onprem',
      extraKernelParams: ['tink_worker_image=reg/agent:1'],
    });
    expect(smeeValuesFromEnv({}, files)).toMatchObject({ syslogHost: '', grpcAuthority: '', extraKernelParams: ['tink_worker_image=ghcr.io/tinkerbell/tink-agent:latest'] });
    expect(() => smeeValuesFromEnv({ TINK_TLS: 'maybe' }, files)).toThrow(new UserError("TINK_TLS is 'maybe'; use true or false"));
    expect(() => smeeHookScript(smeeValuesFromEnv({ TINK_WORKER_IMAGE: 'a b' }, files))).toThrow("TINK_WORKER_IMAGE is 'a b'; use letters");
  });
});

describe('LISTEN and download figures', () => {
  it('takes an address and a port, and refuses wildcards and nonsense with the fix', () => {
    expect(parseListen('10.0.0.1:8080')).toEqual({ host: '10.0.0.1', port: 8080 });
    expect(parseListen('[fd00::1]:80')).toEqual({ host: 'fd00::1', port: 80 });
    expect(() => parseListen('0.0.0.0:8080')).toThrow(/every address, but the iPXE script must name one/);
    expect(() => parseListen('10.0.0.1')).toThrow("LISTEN is '10.0.0.1'; give the address and port to serve on, as the machines reach it, e.g. LISTEN=10.0.0.1:8080");
    expect(() => parseListen('10.0.0.1:99999')).toThrow(UserError);
  });

  it('sums what iPXE fetched over the time it took', () => {
    const requests = [
      { method: 'GET', path: '/k', status: 200, bytes: 10e6, seconds: 1, at: 0 },
      { method: 'GET', path: '/i', status: 200, bytes: 30e6, seconds: 3, at: 1000 },
    ];
    expect(describeDownload(requests)).toBe('40.0 MB in 4.0 s (10.0 MB/s)');
  });
});
