/** `cache-server.sh verify`: every entry against the sha256 of its upload, bad ones removed. */
import { rm } from 'node:fs/promises';
import { EntryStore } from './store';

export interface VerifyResult {
  checked: number;
  removed: number;
}

/** Logs one line for each removed entry; digests whose entry is gone are dropped quietly. */
export async function verifyStore(store: EntryStore): Promise<VerifyResult> {
  let checked = 0;
  let removed = 0;
  for (const hash of await store.hashes()) {
    checked++;
    const entry = await store.openVerified(hash, 'removed');
    if (entry === 'removed') removed++;
    else if (entry !== 'missing') await entry.file.close();
  }
  for (const digest of await store.orphanDigests()) await rm(digest, { force: true });
  return { checked, removed };
}
