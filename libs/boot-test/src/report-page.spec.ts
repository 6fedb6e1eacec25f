/**
 * The built hook-debian-amd64's report page (dist/hook/report-<OUTPUT_ID>.html) in Debian's
 * headless Chromium: it draws the initramfs treemap with the flavor's containers, its budget
 * table, finds QLogic's FastLinQ (1077:8070) by ID through `#q=`, and lists the SBOM's kernel. The
 * screenshot is kept in coverage/boot-test/ (the CI workflow uploads coverage/).
 * Needs the flavor built (the test target depends on its build) and chromium.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { openPage } from '@hook/testing';
import { flavorBootFiles } from './hookos';

const WORKSPACE = join(__dirname, '../../..');
const FLAVOR = 'hook-debian-amd64';

jest.setTimeout(5 * 60_000);

it(`${FLAVOR}'s report page renders its treemap, budgets, hardware search and SBOM in headless Chromium`, async () => {
  const { reportPage: page, outputId } = flavorBootFiles(WORKSPACE, FLAVOR);
  const shots = join(WORKSPACE, 'coverage', 'boot-test');
  mkdirSync(shots, { recursive: true });
  const { dom } = await openPage(page, { hash: '#q=1077:8070', screenshot: join(shots, `report-${outputId}.png`) });

  expect(dom).toContain('data-rendered="yes"');
  for (const container of ['services/hook-docker', 'onboot/000-udev', '/usr']) expect(dom).toContain(`title="${container}: `);
  expect(dom.match(/class="tile"/g)?.length).toBeGreaterThan(20);
  expect(dom).toMatch(/<tr><td>kernel \+ initramfs \(compressed\)<\/td><td class="n">[\d.]+ MiB<\/td><td class="n">95\.4 MiB<\/td>/);
  expect(dom).toMatch(/<tr><td>qede<\/td><td>network<\/td><td>1 present<\/td><td class="ids">[^<]*1077:8070/);
  expect(dom).toMatch(/<tr hidden=""><td>tg3<\/td>/);
  expect(dom).toMatch(/<td>operating-system<\/td><td>linux<\/td><td>6\.12\.\d+<\/td><td>pkg:deb\/debian\/linux-image-/);
});
