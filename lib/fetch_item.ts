import type { CommandContext } from "./command_context.ts";
import type { Item } from "./store.ts";

/**
 * Looks an item up for a get-family command, or with `touch` set also sets
 * its expiry (a protocol expiry), counting `cmd_get`/`get_hits`/`get_misses`
 * or `cmd_touch`/`touch_hits`/`touch_misses` as memcached does. Shared by the
 * binary and text protocols.
 *
 * @example Usage
 * ```ts ignore
 * const item = fetchItem(ctx, "key", false, 0);
 * ```
 */
export function fetchItem(
  ctx: CommandContext,
  key: string,
  touch: boolean,
  exptime: number,
): Item | undefined {
  const c = ctx.stats.c;
  if (touch) {
    const item = ctx.store.touch(key, exptime);
    c.cmd_touch++;
    if (item) c.touch_hits++;
    else c.touch_misses++;
    return item;
  }
  const item = ctx.store.get(key);
  c.cmd_get++;
  if (item) c.get_hits++;
  else c.get_misses++;
  return item;
}
