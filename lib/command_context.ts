import type { Clock } from "./clock.ts";
import { VERSION } from "./config.ts";
import type { SnapshotStats } from "./snapshot/snapshot_file.ts";
import type { ConnectionInfo } from "./connection_info.ts";
import { PrefixStats } from "./prefix_stats.ts";
import { Stats } from "./stats.ts";
import type { ReadCheck } from "./store/read_conflict.ts";
import { Store } from "./store/store.ts";

/** Server-wide settings the commands read. */
export interface CommandSettings {
  version: string;
  sasl: boolean;
  /** `user -> password` from the auth file. */
  credentials: Map<string, string>;
  enableShutdown: boolean;
  maxConnections: number;
  /** The listen queue asked of the kernel (`-b`; the kernel caps it at `somaxconn`). */
  listenBacklog: number;
  maxItemSize: number;
  idleTimeout: number;
  evict: boolean;
  verbose: number;
  port: number;
  hostname: string;
  /** Slab class growth factor (`-f`). */
  growthFactor: number;
  /** Minimum space of the smallest slab class (`-n`). */
  minSpace: number;
  /** Largest slab chunk (`-o slab_chunk_max`). */
  slabChunkMax: number;
  /** `stats cachedump` allowed (not `-X`). */
  dumpEnabled: boolean;
  /** `-R`, as given. */
  reqsPerEvent: number;
  /** TLS certificate and key files, when serving TLS (`-Z`). */
  tls?: { certFile: string; keyFile: string };
  /** The auth file (`-Y`), when text authentication is on. */
  authFile?: string;
}

const DEFAULT_SETTINGS: Omit<CommandSettings, "credentials"> = {
  version: VERSION,
  sasl: false,
  enableShutdown: false,
  maxConnections: 1024,
  listenBacklog: 1024,
  maxItemSize: 1024 * 1024,
  idleTimeout: 0,
  evict: true,
  verbose: 0,
  port: 11211,
  hostname: "127.0.0.1",
  growthFactor: 1.25,
  minSpace: 48,
  slabChunkMax: 512 * 1024,
  dumpEnabled: true,
  reqsPerEvent: 20,
};

/**
 * What a command needs of the store lock: a `"read"` command only looks
 * (it may also set an item's fetched and win-token bits with atomics, its
 * expiry, and its last access at most once a minute: fields readers change
 * under a shared lock), a `"write"` command changes items or the store's
 * structure, `"none"` never touches the store.
 */
export type Access = "read" | "write" | "none";

/**
 * One memcached command, the same for every protocol (memcached's
 * `process_*_cmd`): it runs against the store with arguments the protocol
 * already decoded, counts itself in the stats, and returns a result whose
 * `status` says how it ended. Protocols only spell that result.
 */
export interface Command<Args, Result extends { status: string }> {
  /** The command's name, as counters and logs call it. */
  readonly name: string;
  /** The store lock this command needs. */
  readonly access: Access;
  /** Runs the command; only the command layer (`lib/commands/`) reaches the store. */
  run(ctx: CommandContext, args: Args): Result;
}

/** Options of a {@linkcode CommandContext}. */
export interface CommandContextOptions {
  /** The item store. @default {a new store of 64 MiB} */
  store?: Store;
  /** The counters. @default {new Stats()} */
  stats?: Stats;
  /** Time source for the commands (`now`). @default {Date.now} */
  clock?: Clock;
  /** Settings; those left out take memcached's defaults. */
  settings?: Partial<CommandSettings>;
  /** Writes a log line (verbose output). @default {console.error} */
  log?: (line: string) => void;
  /** Stops the server (text `shutdown`, when enabled). @default {() => {}} */
  shutdown?: () => void;
  /** With `-e`: figures about the snapshots, for `stats`. */
  snapshotStats?: () => SnapshotFigures;
  /** Per-prefix counts of `stats detail`. @default {new PrefixStats(), off} */
  detail?: PrefixStats;
  /** The server's client connections now, for `stats conns`. @default {() => []} */
  connections?: () => ConnectionInfo[];
}

/** What `stats` reports about snapshots (`-e`). */
export type SnapshotFigures = Readonly<SnapshotStats> & { writing: boolean };

/**
 * What commands reach, shared by every connection of a server: the store,
 * the counters, the settings and the server's hooks. Every command runs
 * through {@linkcode CommandContext.run}.
 *
 * @example Usage
 * ```ts
 * import { CommandContext } from "./command_context.ts";
 * import { getCommand } from "./commands/get_command.ts";
 * import assert from "node:assert/strict";
 *
 * const ctx = new CommandContext();
 * assert.equal(ctx.run(getCommand, { key: new TextEncoder().encode("k") }).status, "miss");
 * assert.equal(ctx.stats.c.get_misses, 1);
 * ```
 */
export class CommandContext {
  readonly store: Store;
  readonly stats: Stats;
  readonly settings: CommandSettings;
  readonly log: (line: string) => void;
  readonly shutdown: () => void;
  /**
   * The share of the store lock the running request holds, set by the
   * dispatcher around each one; `undefined` where nothing tracks it (a
   * command run directly, as in tests and embedding). `run` refuses a
   * command that needs more than is held.
   */
  held: Access | undefined;
  /**
   * Set by the dispatcher while a `get` runs optimistically, holding no
   * share (`held` says "read"): the store then throws
   * `ReadConflict` rather than return what a writer may have torn.
   */
  check: ReadCheck | undefined;
  #clock: Clock;
  readonly snapshotStats: (() => SnapshotFigures) | undefined;
  /** Per-prefix counts of `stats detail`; they count only while `detail.enabled`. */
  readonly detail: PrefixStats;
  /** The server's client connections now. */
  readonly connections: () => ConnectionInfo[];

  constructor(options: CommandContextOptions = {}) {
    this.#clock = options.clock ?? Date.now;
    this.store = options.store ?? Store.create({ now: this.now() });
    this.stats = options.stats ?? new Stats({ startedAt: this.now() });
    this.settings = { ...DEFAULT_SETTINGS, credentials: new Map(), ...options.settings };
    this.log = options.log ?? ((line) => console.error(line));
    this.shutdown = options.shutdown ?? (() => {});
    this.snapshotStats = options.snapshotStats;
    this.detail = options.detail ?? new PrefixStats();
    this.connections = options.connections ?? (() => []);
  }

  /** Unix seconds now, as the commands see time. */
  now(): number {
    return Math.floor(this.#clock() / 1000);
  }

  /**
   * Runs one command. Every command of every protocol passes here, once:
   * the one place to check that the store lock its `access` asks for is
   * held, or to time it and count it by `name` and result `status`.
   */
  run<Args, Result extends { status: string }>(
    command: Command<Args, Result>,
    args: Args,
  ): Result {
    const held = this.held;
    if (held !== undefined && command.access !== "none" && held !== "write") {
      if (command.access === "write" || held === "none") {
        throw new Error(
          `Command ${command.name} needs the store lock (${command.access}), held: ${held}`,
        );
      }
    }
    return command.run(this, args);
  }
}
