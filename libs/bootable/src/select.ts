/**
 * Which bootable, flavor and boards a request means, and where their media land. No handler
 * code here: the `hook` command validates with this before Nx runs, without loading the
 * handlers (and what they download with).
 */
import { readFile } from 'node:fs/promises';
import { UserError, suggest } from '@hook/log';
import { boardOptions, boardsOf, bootablesOf, findFlavor, resolveFlavor, type Board, type Bootable, type Inventory, type ResolvedFlavor } from '@hook/inventory';

/** A bootable with its flavor, that flavor's kernel, OUTPUT_ID and dist/hook files. */
export interface ResolvedBootable extends ResolvedFlavor {
  bootable: Bootable;
}

/** The bootable `id` and its flavor; with `flavorId`, the bootable must be that flavor's. One line for each mistake. */
export function resolveBootable(inventory: Inventory, id: string | undefined, flavorId?: string): ResolvedBootable {
  const all = bootablesOf(inventory);
  const ids = all.map((b) => b.bootable.ID);
  if (!id) throw new UserError(`bootable-media needs a bootable id; valid ones are: ${ids.join(' ')}`);
  const match = all.find((b) => b.bootable.ID === id);
  if (flavorId !== undefined) {
    const flavor = findFlavor(inventory, flavorId);
    if (!flavor.BOOTABLES.some((b) => b.ID === id)) {
      const own = flavor.BOOTABLES.map((b) => b.ID);
      throw new UserError(
        `Flavor ${flavorId} has no bootable '${id}' (${own.length ? `its bootables: ${own.join(' ')}` : `${flavor.file} lists no BOOTABLES`})` +
          (match ? `; '${id}' belongs to ${match.flavor.id}: ./hook bootable-media ${id}` : ''),
      );
    }
  }
  if (!match) {
    const hint = suggest(id, ids);
    throw new UserError(`Unknown bootable '${id}'${hint ? ` (did you mean ${hint}?)` : ''}; valid ones are: ${ids.join(' ')}`);
  }
  return { ...resolveFlavor(inventory, match.flavor.id), bootable: match.bootable };
}

/**
 * The boards to write: all of the bootable's, or those BOARD names (space- or comma-separated;
 * a board id such as `r58x`, or upstream's Armbian BOARD value such as `mekotronics-r58x-pro`).
 */
export function selectBoards(bootable: Bootable, boardSetting: string | undefined): Board[] {
  const boards = boardsOf(bootable);
  const wanted = (boardSetting ?? '').split(/[\s,]+/).filter(Boolean);
  if (wanted.length === 0) return boards;
  const chosen: Board[] = [];
  for (const name of wanted) {
    const board = boards.find((b) => b.id === name || boardOptions(b).BOARD === name);
    if (!board) {
      const ids = boards.map((b) => b.id);
      const hint = suggest(name, ids);
      throw new UserError(`Unknown board '${name}' for bootable ${bootable.ID}${hint ? ` (did you mean ${hint}?)` : ''}; its boards are: ${ids.join(' ')}`);
    }
    if (!chosen.includes(board)) chosen.push(board);
  }
  return chosen;
}

export interface MediaManifest {
  bootable: string;
  flavor: string;
  /** Board id -> the medium's path relative to the workspace root. */
  media: Record<string, string>;
}

export async function readMediaManifest(path: string): Promise<MediaManifest> {
  return JSON.parse(await readFile(path, 'utf8')) as MediaManifest;
}
