import type { Stats } from "./stats.ts";
import type { Store } from "./store.ts";

/** Per-connection protocol state. */
export interface Session {
  /** Connection number, for logs. */
  readonly id: number;
  /** SASL or text `-Y` authentication done. */
  authenticated: boolean;
  /** A SASL exchange has started (for SASL_STEP). */
  saslStarted: boolean;
}

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
}

/** What a command can reach: the store, counters, settings, its session and server hooks. */
export interface CommandContext {
  store: Store;
  stats: Stats;
  settings: CommandSettings;
  session: Session;
  /** Writes a log line (verbose output). */
  log(line: string): void;
  /** Stops the server (text `shutdown`, when enabled). */
  shutdown(): void;
}
