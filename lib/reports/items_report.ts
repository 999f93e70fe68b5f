import type { CommandContext } from "../command_context.ts";
import type { StatLine } from "./stat_line.ts";

/** LRU items walked at most to find each class's oldest item (its `age`). */
const AGE_WALK_LIMIT = 100_000;

/**
 * `stats items`: for each slab class holding items, memcached 1.6.18's 28
 * fields in its order. This server keeps one LRU, as memcached's COLD one:
 * every item counts as cold (`number_cold`, `hits_to_cold`), the HOT, WARM
 * and TEMP figures and the background-thread counters are 0. `age` is the
 * seconds since the last access of the class's least recently used item,
 * found by walking the LRU from its old end (over at most 100,000 items).
 *
 * @example Usage
 * ```ts
 * import { CommandContext } from "../command_context.ts";
 * import { itemsReport } from "./items_report.ts";
 * import assert from "node:assert/strict";
 *
 * const ctx = new CommandContext();
 * ctx.store.set(new TextEncoder().encode("k"), new Uint8Array(3), { now: ctx.now() });
 * const lines = itemsReport(ctx);
 * assert.deepEqual(lines[0], ["items:1:number", "1"]);
 * assert.equal(lines.length, 28);
 * ```
 */
export function itemsReport(ctx: CommandContext): StatLine[] {
  const { store } = ctx;
  const slabs = store.slabStats;
  const now = ctx.now();
  const oldest = store.oldestTimes(AGE_WALK_LIMIT);
  const lines: StatLine[] = [];
  for (let id = 1; id <= slabs.classes.count; id++) {
    const number = slabs.items(id);
    if (number === 0) continue;
    const age = oldest.has(id) ? now - oldest.get(id)! : 0;
    const fields: [string, number][] = [
      ["number", number],
      ["number_hot", 0],
      ["number_warm", 0],
      ["number_cold", number],
      ["age_hot", 0],
      ["age_warm", 0],
      ["age", age],
      ["mem_requested", slabs.memRequested(id)],
      ["evicted", slabs.event("evicted", id)],
      ["evicted_nonzero", slabs.event("evicted_nonzero", id)],
      ["evicted_time", slabs.event("evicted_time", id)],
      ["outofmemory", slabs.event("outofmemory", id)],
      ["tailrepairs", 0],
      ["reclaimed", slabs.event("reclaimed", id)],
      ["expired_unfetched", slabs.event("expired_unfetched", id)],
      ["evicted_unfetched", slabs.event("evicted_unfetched", id)],
      ["evicted_active", 0],
      ["crawler_reclaimed", 0],
      ["crawler_items_checked", 0],
      ["lrutail_reflocked", 0],
      ["moves_to_cold", 0],
      ["moves_to_warm", 0],
      ["moves_within_lru", 0],
      ["direct_reclaims", slabs.event("evicted", id)],
      ["hits_to_hot", 0],
      ["hits_to_warm", 0],
      ["hits_to_cold", slabs.command("get_hits", id)],
      ["hits_to_temp", 0],
    ];
    for (const [name, value] of fields) lines.push([`items:${id}:${name}`, String(value)]);
  }
  return lines;
}
