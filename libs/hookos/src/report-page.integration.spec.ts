/**
 * The report page in Debian's headless Chromium (package chromium): it draws the treemap, marks a
 * budget that is exceeded, finds a device by its ID from `#q=` and lists the SBOM's components.
 * The screenshot is kept in coverage/hookos/ (the CI workflow uploads coverage/).
 */
import { mkdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HardwareIndex } from '@hook/hardware';
import { openPage } from '@hook/testing';
import { reportPageHtml, treemapTiles } from './report-page';

jest.setTimeout(5 * 60_000);

const DIRECTORIES = [
  { path: '/', bytes: 300, files: 9 },
  { path: '/containers', bytes: 250, files: 6 },
  { path: '/containers/services/hook-docker', bytes: 200, files: 4 },
  { path: '/containers/services/hook-docker/lower', bytes: 200, files: 4 },
  { path: '/containers/services/hook-docker/lower/usr', bytes: 180, files: 3 },
  { path: '/containers/services/hook-docker/lower/etc', bytes: 20, files: 1 },
  { path: '/containers/onboot/000-udev', bytes: 50, files: 2 },
  { path: '/containers/onboot/000-udev/lower', bytes: 50, files: 2 },
  { path: '/containers/onboot/000-udev/lower/usr', bytes: 50, files: 2 },
  { path: '/lib', bytes: 40, files: 2 },
  { path: '/lib/modules', bytes: 30, files: 1 },
  { path: '/sbin', bytes: 10, files: 1 },
].map((d) => ({ ...d, bytes: d.bytes * 1024 * 1024 }));

const HARDWARE: HardwareIndex = {
  release: '6.12.1',
  modules: {
    qed: { path: 'kernel/drivers/net/ethernet/qlogic/qed/qed.ko.xz', class: 'network', size: 1, kept: true, depends: [], firmware: [{ file: 'qed/x.bin', present: true }] },
    qede: { path: 'kernel/drivers/net/ethernet/qlogic/qede/qede.ko.xz', class: 'network', size: 1, kept: true, depends: ['qed'] },
    tg3: { path: 'kernel/drivers/net/ethernet/broadcom/tg3.ko.xz', class: 'network', size: 1, kept: true, depends: [] },
  },
  ids: [
    ['pci:v00001077d00008070sv*sd*bc*sc*i*', 'qede'],
    ['pci:v000014E4d0000165Fsv*sd*bc*sc*i*', 'tg3'],
  ],
};

const SBOM = JSON.stringify({ components: [{ type: 'operating-system', name: 'linux', version: '6.12.1', purl: 'pkg:deb/debian/linux-image@6.12.1', components: [{ name: 'a' }, { name: 'b' }] }, { type: 'container', name: 'dhcp' }] });

describe('the report page', () => {
  it('groups the initramfs by container and top folder, with the folders inside', () => {
    const tiles = treemapTiles(DIRECTORIES);
    expect(tiles.map((t) => t.name)).toEqual(['services/hook-docker', 'onboot/000-udev', '/lib', '/sbin']);
    expect(tiles[0].children.map((c) => c.name)).toEqual(['usr', 'etc']);
    expect(tiles[2].children.map((c) => c.name)).toEqual(['modules', '(files)']);
  });

  it('renders in headless Chromium: the treemap, a budget over its limit, a device found by ID, the SBOM', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hook-report-page-'));
    try {
      const file = join(dir, 'report-x86_64.html');
      const budgets = [
        { what: 'kernel + initramfs (compressed)', actual: 90e6, budget: 100e6 },
        { what: 'image hook-docker', actual: 230e6, budget: 225e6 },
      ];
      await writeFile(file, reportPageHtml({ flavorId: 'hook-test', outputId: 'x86_64', directories: DIRECTORIES, budgets, hardware: HARDWARE, sbomJson: SBOM }));
      const shots = join(__dirname, '../../../coverage/hookos');
      mkdirSync(shots, { recursive: true });
      const { dom } = await openPage(file, { hash: '#q=1077:8070', screenshot: join(shots, 'report-page.png') });

      expect(dom).toContain('data-rendered="yes"');
      // Four groups, five tiles inside them (hook-docker: usr, etc; udev: usr; lib: modules, files; sbin: itself).
      expect(dom.match(/class="group"/g)).toHaveLength(4);
      expect(dom.match(/class="tile"/g)?.length).toBeGreaterThanOrEqual(6);
      expect(dom).toMatch(/<tr class="over"><td>image hook-docker<\/td>/);
      // The search box holds the ID from the address; only qede's row is shown.
      expect(dom).toMatch(/<tr><td>qede<\/td><td>network<\/td><td>1 present<\/td><td class="ids">1077:8070<\/td><\/tr>/);
      expect(dom).toMatch(/<tr hidden=""><td>tg3<\/td>/);
      expect(dom).toContain('1 of 2 modules');
      expect(dom).toMatch(/<td>operating-system<\/td><td>linux<\/td><td>6\.12\.1<\/td><td>pkg:deb\/debian\/linux-image@6\.12\.1<\/td><td class="n">2 parts<\/td>/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
