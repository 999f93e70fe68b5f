import { hostPort, type ServerOptions, VERSION } from "./config.ts";
import type { RestoreOutcome } from "./snapshot/snapshot_file.ts";

/** What {@linkcode startupLine} reports. */
export interface StartupFacts {
  /** The options the server was started with. */
  options: ServerOptions;
  /** Address actually bound. */
  hostname: string;
  /** Port actually bound (the free port picked for `-p 0`). */
  port: number;
  /** With `-e`: how the restore went. */
  restored?: RestoreOutcome;
  /** Port of the metrics endpoint, when there is one (`-o metrics_port`). */
  metricsPort?: number;
}

/**
 * The one line `main.ts` writes to stderr once it listens: version, the
 * address and port actually bound, memory and connection limits, threads
 * (when more than one), and what is switched on. Defaults are the server's (`-m 64 -c 1024 -I 1m`).
 *
 * @example Usage
 * ```ts
 * import { startupLine } from "./startup_line.ts";
 * import assert from "node:assert/strict";
 *
 * assert.match(
 *   startupLine({ options: { memoryLimitMiB: 256, tls: true }, hostname: "127.0.0.1", port: 40123 }),
 *   /listening on 127\.0\.0\.1:40123 with -m 256 -c 1024 -I 1m; binary, text and meta protocols; TLS on; SASL off$/,
 * );
 * ```
 */
export function startupLine(facts: StartupFacts): string {
  const { options } = facts;
  const limits = [
    `-m ${options.memoryLimitMiB ?? 64}`,
    `-c ${options.maxConnections ?? 1024}`,
    `-I ${sizeText(options.maxItemSize ?? 1024 * 1024)}`,
  ];
  if ((options.threads ?? 1) > 1) limits.push(`-t ${options.threads}`);
  const parts = [
    `mbserver ${VERSION} listening on ${hostPort(facts.hostname, facts.port)} with ${
      limits.join(" ")
    }`,
    "binary, text and meta protocols",
    `TLS ${options.tls ? "on" : "off"}`,
    `SASL ${options.sasl ? "on" : "off"}`,
  ];
  if (options.noEvict) parts.push("-M (no evictions)");
  if (options.enableShutdown) parts.push("-A (shutdown command on)");
  if (facts.metricsPort !== undefined) {
    parts.push(
      `metrics on http://${
        hostPort(facts.hostname, facts.metricsPort)
      }/metrics (no authentication)`,
    );
  }
  if (options.memoryFile !== undefined) parts.push(snapshotText(options, facts.restored));
  return parts.join("; ");
}

/** `-e FILE` and what its restore did. */
function snapshotText(options: ServerOptions, restored: RestoreOutcome | undefined): string {
  const every = options.snapshotInterval ? `, every ${options.snapshotInterval} s` : "";
  let what = "";
  if (restored?.status === "restored") {
    const r = restored.report;
    what = `: restored ${r.items} items in ${Math.round(r.durationMs)} ms` +
      (r.expired > 0 ? `, ${r.expired} expired` : "") +
      (r.refused > 0 ? `, ${r.refused} refused` : "");
  } else if (restored?.status === "missing") {
    what = ": no snapshot yet, empty start";
  } else if (restored?.status === "damaged") {
    what = `: damaged, kept as ${restored.aside}, empty start`;
  }
  return `-e ${options.memoryFile}${what}${every}`;
}

/** `1m`, `512k` or bytes, as `-I` takes them. */
function sizeText(bytes: number): string {
  if (bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)}m`;
  if (bytes % 1024 === 0) return `${bytes / 1024}k`;
  return String(bytes);
}
