import type { CommandContext } from "../command_context.ts";
import type { StatLine } from "./stat_line.ts";

/**
 * `stats conns`: the listening socket (as connection 0), then each client
 * connection by number, with memcached 1.6.18's fields: `addr`,
 * `listen_addr`, `state` (`conn_parse_cmd` for the connection asking,
 * `conn_nread` for one holding part of a request, else `conn_read`) and
 * `secs_since_last_cmd`.
 *
 * @example Usage
 * ```ts
 * import { CommandContext } from "../command_context.ts";
 * import { connsReport } from "./conns_report.ts";
 * import assert from "node:assert/strict";
 *
 * const lines = connsReport(new CommandContext(), 0);
 * assert.deepEqual(lines[1], ["0:state", "conn_listening"]);
 * ```
 */
export function connsReport(ctx: CommandContext, asking: number): StatLine[] {
  const { settings, stats } = ctx;
  const now = ctx.now();
  const listenAddr = `tcp:${settings.hostname}:${settings.port}`;
  const lines: StatLine[] = [
    ["0:addr", listenAddr],
    ["0:state", "conn_listening"],
    ["0:secs_since_last_cmd", String(now - stats.startedAt)],
  ];
  const conns = ctx.connections().sort((a, b) => a.id - b.id);
  for (const conn of conns) {
    const state = conn.id === asking ? "conn_parse_cmd" : conn.partial ? "conn_nread" : "conn_read";
    const idle = Math.max(0, now - Math.floor(conn.lastCommand / 1000));
    lines.push(
      [`${conn.id}:addr`, conn.addr],
      [`${conn.id}:listen_addr`, conn.listenAddr],
      [`${conn.id}:state`, state],
      [`${conn.id}:secs_since_last_cmd`, String(idle)],
    );
  }
  return lines;
}
