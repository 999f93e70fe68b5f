import type { CommandContext } from "../command_context.ts";
import type { StatLine } from "./stat_line.ts";
import { SLAB_COMMANDS } from "../slab_stats.ts";

/**
 * `stats slabs`: for each slab class that has had pages, memcached 1.6.18's
 * 15 fields in its order, then `active_slabs` and `total_malloced`. Chunk
 * sizes and chunks per page are memcached's (`-f`, `-n`, `slab_chunk_max`);
 * used chunks count each item's chunks as memcached allocates them (a large
 * item's header and value chunks too); pages are derived: a class has had as
 * many as its used chunks have ever filled, and keeps them, as memcached
 * keeps its pages.
 *
 * @example Usage
 * ```ts
 * import { CommandContext } from "../command_context.ts";
 * import { slabsReport } from "./slabs_report.ts";
 * import assert from "node:assert/strict";
 *
 * const ctx = new CommandContext();
 * ctx.store.set(new TextEncoder().encode("k"), new Uint8Array(3), { now: ctx.now() });
 * const lines = slabsReport(ctx);
 * assert.deepEqual(lines[0], ["1:chunk_size", "96"]);
 * assert.deepEqual(lines.at(-1), ["total_malloced", "1048576"]);
 * ```
 */
export function slabsReport(ctx: CommandContext): StatLine[] {
  const slabs = ctx.store.slabStats;
  const classes = slabs.classes;
  const lines: StatLine[] = [];
  let active = 0;
  let pagesInAll = 0;
  for (let id = 1; id <= classes.count; id++) {
    const pages = slabs.totalPages(id);
    if (pages === 0) continue;
    active++;
    pagesInAll += pages;
    const perPage = classes.chunksPerPage(id);
    const used = slabs.usedChunks(id);
    const fields: [string, number][] = [
      ["chunk_size", classes.chunkSize(id)],
      ["chunks_per_page", perPage],
      ["total_pages", pages],
      ["total_chunks", pages * perPage],
      ["used_chunks", used],
      ["free_chunks", pages * perPage - used],
      ["free_chunks_end", 0],
      ...SLAB_COMMANDS.map((field) => [field, slabs.command(field, id)] as [string, number]),
    ];
    for (const [name, value] of fields) lines.push([`${id}:${name}`, String(value)]);
  }
  lines.push(["active_slabs", String(active)]);
  lines.push(["total_malloced", String(pagesInAll * classes.pageSize)]);
  return lines;
}
