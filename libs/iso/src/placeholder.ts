import { open } from 'node:fs/promises';
import { UserError } from '@hook/log';

/**
 * The 1024-character kernel command line of Hook's LinuxKit template (`kernel.cmdline` in
 * linuxkit-templates/hook.template.yaml, identical to `isoMagicString` in Smee). Smee finds it in
 * the ISO it serves and overwrites it in place with the real command line, space-padded to the
 * same length, so it must be kept byte for byte.
 */
export const HOOK_ISO_CMDLINE_PLACEHOLDER =
  '464vn90e7rbj08xbwdjejmdf4it17c5zfzjyfhthbh19eij201hjgit021bmpdb9ctrc87x2ymc8e7icu4ffi15x1hah9iyaiz38ckyap8hwx2vt5rm44ixv4hau8iw718q5yd019um5dt2xpqqa2rjtdypzr5v1gun8un110hhwp8cex7pqrh2ivh0ynpm4zkkwc8wcn367zyethzy7q8hzudyeyzx3cgmxqbkh825gcak7kxzjbgjajwizryv7ec1xm2h0hh7pz29qmvtgfjj1vphpgq1zcbiiehv52wrjy9yq473d9t1rvryy6929nk435hfx55du3ih05kn5tju3vijreru1p6knc988d4gfdz28eragvryq5x8aibe5trxd0t6t7jwxkde34v6pj1khmp50k6qqj3nzgcfzabtgqkmeqhdedbvwf3byfdma4nkv3rcxugaj2d0ru30pa2fqadjqrtjnv8bu52xzxv7irbhyvygygxu1nt5z4fh9w1vwbdcmagep26d298zknykf2e88kumt59ab7nq79d8amnhhvbexgh48e8qc61vq2e9qkihzt1twk1ijfgw70nwizai15iqyted2dt9gfmf2gg7amzufre79hwqkddc1cd935ywacnkrnak6r7xzcz7zbmq3kt04u2hg1iuupid8rt4nyrju51e6uejb2ruu36g9aibmz3hnmvazptu8x5tyxk820g2cdpxjdij766bt2n3djur7v623a2v44juyfgz80ekgfb9hkibpxh3zgknw8a34t4jifhf116x15cei9hwch0fye3xyq0acuym8uhitu5evc4rag3ui0fny3qg4kju7zkfyy8hwh537urd5uixkzwu5bdvafz4jmv7imypj543xg5em8jk8cgk7c4504xdd5e4e71ihaumt6u5u2t1w7um92fepzae8p0vq93wdrd1756npu1pziiur1payc7kmdwyxg3hj5n4phxbc29x0tcddamjrwt260b0w';

const CHUNK_BYTES = 4 * 1024 * 1024;

/** Byte offsets of every occurrence of `placeholder` in a file, read in chunks (ISOs are large). */
export async function findPlaceholder(path: string, placeholder: string = HOOK_ISO_CMDLINE_PLACEHOLDER): Promise<number[]> {
  const needle = Buffer.from(placeholder, 'utf8');
  if (needle.length === 0) throw new Error('findPlaceholder: empty placeholder');
  const offsets: number[] = [];
  const handle = await open(path, 'r');
  try {
    // Each read keeps the last needle.length-1 bytes of the previous one so matches across
    // chunk borders are found; matches are only reported once because they start in new bytes.
    const buffer = Buffer.alloc(CHUNK_BYTES + needle.length - 1);
    let carried = 0;
    let fileOffset = 0; // file offset of buffer[0]
    for (;;) {
      const { bytesRead } = await handle.read(buffer, carried, CHUNK_BYTES, fileOffset + carried);
      if (bytesRead === 0) break;
      const filled = carried + bytesRead;
      const view = buffer.subarray(0, filled);
      for (let at = view.indexOf(needle); at !== -1; at = view.indexOf(needle, at + 1)) offsets.push(fileOffset + at);
      carried = Math.min(needle.length - 1, filled);
      buffer.copy(buffer, 0, filled - carried, filled);
      fileOffset += filled - carried;
    }
  } finally {
    await handle.close();
  }
  return offsets;
}

/**
 * Overwrites the single placeholder in an ISO with `cmdline`, padded with spaces to the same
 * length: what Smee does when it serves the ISO. The file is changed in place with one write.
 */
export async function patchCmdline(isoPath: string, placeholder: string, cmdline: string): Promise<void> {
  const replacement = paddedCmdline(placeholder, cmdline);
  const offsets = await findPlaceholder(isoPath, placeholder);
  if (offsets.length !== 1) {
    throw new UserError(
      offsets.length === 0
        ? `${isoPath}: the kernel command line placeholder is not in this ISO (built without it, or already patched)`
        : `${isoPath}: the kernel command line placeholder appears ${offsets.length} times; it must appear exactly once to be patched`,
    );
  }
  const handle = await open(isoPath, 'r+');
  try {
    await handle.write(replacement, 0, replacement.length, offsets[0]);
  } finally {
    await handle.close();
  }
}

/** The bytes that replace the placeholder: `cmdline` then spaces, exactly as long as it. */
export function paddedCmdline(placeholder: string, cmdline: string): Buffer {
  const size = Buffer.byteLength(placeholder, 'utf8');
  const text = Buffer.from(cmdline, 'utf8');
  if (text.length > size) {
    throw new UserError(`the kernel command line is ${text.length} bytes; at most ${size} fit in the ISO placeholder, shorten it`);
  }
  if (/[\r\n]/.test(cmdline)) throw new UserError('the kernel command line must be a single line (it contains a line break)');
  return Buffer.concat([text, Buffer.alloc(size - text.length, ' ')]);
}
