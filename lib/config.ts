import { parseArgs } from "node:util";
import type { NeededPermissions } from "./check_permissions.ts";
import { snapshotPermissions } from "./snapshot/snapshot_file.ts";

/** The version this server reports. */
export const VERSION = "1.6.18-mbserver-0.1.0";

/** Everything a {@linkcode Server} can be told. */
export interface ServerOptions {
  /** TCP port; 0 picks a free one. @default {11211} */
  port?: number;
  /** Address to listen on. @default {"127.0.0.1"} */
  hostname?: string;
  /** Memory for items, in MiB. @default {64} */
  memoryLimitMiB?: number;
  /** Simultaneous connections. @default {1024} */
  maxConnections?: number;
  /**
   * Connections the kernel may queue before the server accepts them
   * (memcached's -b; the kernel caps it at `net.core.somaxconn`). @default {1024}
   */
  listenBacklog?: number;
  /** Largest item, in bytes. @default {1048576} */
  maxItemSize?: number;
  /** 0 quiet, 1 errors, 2 each command (memcached's -v/-vv). @default {0} */
  verbose?: number;
  /** Answer "out of memory" instead of evicting (memcached's -M). @default {false} */
  noEvict?: boolean;
  /** Allow the text `shutdown` command (memcached's -A). @default {false} */
  enableShutdown?: boolean;
  /** Require SASL authentication (memcached's -S). @default {false} */
  sasl?: boolean;
  /** `user:password` lines (memcached's -Y authfile contents). */
  authFile?: string;
  /** Close connections idle this many seconds; 0 = never. @default {0} */
  idleTimeout?: number;
  /**
   * Close a connection that holds a partial request this many seconds
   * (slowloris), however slowly its bytes arrive; 0 = never
   * (`-o frame_timeout=N`, an mbserver extension). @default {30}
   */
  frameTimeout?: number;
  /** How often idle and partial-frame deadlines are checked, in ms. @default {1000} */
  timeoutCheckIntervalMs?: number;
  /**
   * How often connections are checked for idleness, in ms: one that waited
   * for its next request through a whole period lets its pipeline go (it is
   * built again when bytes come). @default {1000}
   */
  idleCheckIntervalMs?: number;
  /**
   * Bytes of responses one connection may have pending before it stops
   * running its pipelined requests until the client reads. @default {1048576}
   */
  maxPendingOutput?: number;
  /** On close, how long to let connections deliver answers before cutting them, in ms. @default {3000} */
  shutdownGraceMs?: number;
  /** Serve TLS (memcached's -Z); needs `tlsCert` and `tlsKey`. @default {false} */
  tls?: boolean;
  /** PEM certificate chain file (memcached's `-o ssl_chain_cert=`). */
  tlsCertFile?: string;
  /** PEM private key file (memcached's `-o ssl_key=`). */
  tlsKeyFile?: string;
  /**
   * Snapshot file for warm restarts (memcached's `-e`): restored before
   * listening, written on a graceful stop. Needs read and write permission
   * on its directory.
   */
  memoryFile?: string;
  /** With `memoryFile`, also write a snapshot every this many seconds; 0 = only on stop. @default {0} */
  snapshotInterval?: number;
  /** Where log lines go. @default {console.error} */
  log?: (line: string) => void;
  /** Time source for the store and deadlines, in ms since the epoch. @default {a CoarseClock: Date.now re-read every 100 ms} */
  clock?: () => number;
  /**
   * Worker threads serving connections over one shared store (memcached's
   * -t). 1 runs everything in this thread, with no worker. @default {1}
   */
  threads?: number;
  /** Slab class growth factor, more than 1 (memcached's -f). @default {1.25} */
  growthFactor?: number;
  /** Minimum space for key, value and flags in the smallest slab class (memcached's -n). @default {48} */
  minSpace?: number;
  /**
   * Largest slab chunk; larger items are split into chunks (memcached's
   * `-o slab_chunk_max`). @default {524288, or the item size limit when smaller}
   */
  slabChunkMax?: number;
  /**
   * Key prefix delimiter of `stats detail`; giving it turns detail stats on
   * (memcached's -D). @default {":", detail off}
   */
  prefixDelimiter?: string;
  /** Refuse `stats cachedump` (memcached's -X). @default {false} */
  disableDumping?: boolean;
  /**
   * Serve Prometheus metrics at `/metrics` on this port of `hostname`
   * (`-o metrics_port=N`, an mbserver extension); 0 picks a free port.
   * @default {no metrics endpoint}
   */
  metricsPort?: number;
  /** `-R`: reported in `stats settings` (requests are not rationed per event here). @default {20} */
  reqsPerEvent?: number;
}

/** Most worker threads `-t` accepts. */
export const MAX_THREADS = 256;

/** What the command line asks for. */
export type CliAction =
  | {
    action: "serve";
    options: ServerOptions;
    /** `--quiet`: no start-up line on stderr (memcached prints none). */
    quiet: boolean;
  }
  | { action: "help" }
  | { action: "version" };

/** A command-line flag or value that cannot be used. */
export class FlagError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FlagError";
  }
}

/** `--help` text. */
export const USAGE = `mbserver ${VERSION}: a memcached-compatible cache server
Usage: deno run --allow-net main.ts [options] [HOST:PORT]
  -p, --port=<num>           TCP port to listen on (default: 11211; 0 = any free
                             port, shown in the start-up line)
  -l, --listen=<addr>        interface to listen on (default: 127.0.0.1)
  -m, --memory-limit=<mb>    item memory in megabytes (default: 64)
  -c, --conn-limit=<num>     max simultaneous connections (default: 1024)
  -b, --listen-backlog=<num> set the backlog queue limit (default: 1024)
  -I, --max-item-size=<num>  max item size, e.g. 1m, 512k (default: 1m)
  -f, --slab-growth-factor=<num>  slab chunk size growth factor (default: 1.25)
  -n, --slab-min-size=<bytes>     min space for key, value and flags (default: 48)
  -D <char>                  key prefix delimiter for stats detail; turns it on
  -X, --disable-dumping      disable stats cachedump
  -M, --disable-evictions    return errors on memory exhausted instead of evicting
  -A, --enable-shutdown      enable the text "shutdown" command
  -S, --enable-sasl          require SASL authentication
  -Y, --auth-file=<file>     user:password lines for SASL and text auth
  -Z, --enable-ssl           serve TLS (needs -o ssl_chain_cert=,ssl_key=)
  -e, --memory-file=<file>   warm restarts: restore the cache from <file> before
                             listening, write it there on SIGTERM/SIGINT/shutdown
                             (needs --allow-read and --allow-write on its directory)
  -o, --extended=<opts>      comma separated: idle_timeout=<s>, ssl_chain_cert=<file>,
                             ssl_key=<file>, slab_chunk_max=<bytes>,
                             frame_timeout=<s> (close a connection holding a partial
                             request this long; default 30, 0 = off),
                             metrics_port=<num> (Prometheus /metrics on the -l
                             address; no authentication), snapshot_interval=<s>
                             (with -e, also snapshot every <s>); no_lru_maintainer
                             and no_lru_crawler are accepted and ignored
  -t, --threads=<num>        worker threads over one shared store, 1..${MAX_THREADS} or
                             "auto" for every core (default: 1, no worker); more
                             than 1 needs --allow-read of lib/ (the worker code)
  -v, --verbose              print errors; -vv also each command
      --quiet                no start-up line on stderr (memcached's silence)
  -V, --version              print version and exit
  -h, --help                 print this help and exit
  -R, -U                     accepted for memcached compatibility and ignored
  HOST:PORT                  the original server's positional listen address`;

/**
 * Parses memcached-style command-line flags.
 *
 * @throws {FlagError} naming the flag or value that is wrong.
 *
 * @example Usage
 * ```ts
 * import { parseFlags } from "./config.ts";
 * import assert from "node:assert/strict";
 *
 * const cli = parseFlags(["-p", "11311", "-m", "128", "-I", "2m"]);
 * assert.deepEqual(cli.action === "serve" && cli.options.maxItemSize, 2 * 1024 * 1024);
 * ```
 */
export function parseFlags(args: string[]): CliAction {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        port: { type: "string", short: "p" },
        listen: { type: "string", short: "l" },
        "memory-limit": { type: "string", short: "m" },
        "conn-limit": { type: "string", short: "c" },
        "listen-backlog": { type: "string", short: "b" },
        "max-item-size": { type: "string", short: "I" },
        "disable-evictions": { type: "boolean", short: "M" },
        "enable-shutdown": { type: "boolean", short: "A" },
        "enable-sasl": { type: "boolean", short: "S" },
        "auth-file": { type: "string", short: "Y" },
        "enable-ssl": { type: "boolean", short: "Z" },
        "memory-file": { type: "string", short: "e" },
        extended: { type: "string", short: "o", multiple: true },
        verbose: { type: "boolean", short: "v", multiple: true },
        quiet: { type: "boolean" },
        version: { type: "boolean", short: "V" },
        help: { type: "boolean", short: "h" },
        threads: { type: "string", short: "t" },
        "max-reqs-per-event": { type: "string", short: "R" },
        "udp-port": { type: "string", short: "U" },
        "slab-growth-factor": { type: "string", short: "f" },
        "slab-min-size": { type: "string", short: "n" },
        "prefix-delimiter": { type: "string", short: "D" },
        "disable-dumping": { type: "boolean", short: "X" },
      },
    });
  } catch (err) {
    throw new FlagError(parseArgsMessage((err as Error).message));
  }
  const v = parsed.values;
  if (v.help) return { action: "help" };
  if (v.version) return { action: "version" };
  const options: ServerOptions = {};
  if (parsed.positionals.length > 1) {
    throw new FlagError(`Expected at most one HOST:PORT, got ${parsed.positionals.length}`);
  }
  if (parsed.positionals.length === 1) {
    Object.assign(options, parseHostPort(parsed.positionals[0]));
  }
  if (v.port !== undefined) options.port = parseInteger("-p", v.port, 0, 65535);
  if (v.listen !== undefined) {
    if (v.listen === "") throw new FlagError("Option -l needs an address");
    options.hostname = v.listen;
  }
  if (v["memory-limit"] !== undefined) {
    options.memoryLimitMiB = parseInteger("-m", v["memory-limit"], 1, 1 << 20);
  }
  if (v["conn-limit"] !== undefined) {
    options.maxConnections = parseInteger("-c", v["conn-limit"], 1, 1 << 20);
  }
  if (v["listen-backlog"] !== undefined) {
    options.listenBacklog = parseInteger("-b", v["listen-backlog"], 1, 1 << 20);
  }
  if (v["max-item-size"] !== undefined) {
    options.maxItemSize = parseSize("-I", v["max-item-size"]);
  }
  const memory = (options.memoryLimitMiB ?? 64) * 1024 * 1024;
  if ((options.maxItemSize ?? 0) > memory / 2) {
    throw new FlagError("Cannot set item size limit (-I) higher than 1/2 of memory max (-m)");
  }
  if (v["disable-evictions"]) options.noEvict = true;
  if (v["enable-shutdown"]) options.enableShutdown = true;
  if (v["enable-sasl"]) options.sasl = true;
  if (v["auth-file"] !== undefined) options.authFile = v["auth-file"];
  if (v["enable-ssl"]) options.tls = true;
  if (v["memory-file"] !== undefined) {
    if (v["memory-file"] === "") throw new FlagError("Option -e needs a file");
    options.memoryFile = v["memory-file"];
  }
  if (v.verbose) options.verbose = v.verbose.length;
  for (const extended of v.extended ?? []) applyExtended(options, extended);
  if (v.threads !== undefined) options.threads = parseThreads(v.threads);
  if (v["max-reqs-per-event"] !== undefined) {
    options.reqsPerEvent = parseInteger("-R", v["max-reqs-per-event"], 1, 1 << 20);
  }
  applyStatsFlags(options, v);
  if (v["udp-port"] !== undefined) parseInteger("-U", v["udp-port"], 0, 65535);
  if (options.tls && (!options.tlsCertFile || !options.tlsKeyFile)) {
    throw new FlagError("Option -Z needs -o ssl_chain_cert=FILE,ssl_key=FILE");
  }
  if (options.snapshotInterval && options.memoryFile === undefined) {
    throw new FlagError("Option -o snapshot_interval needs -e FILE");
  }
  if (options.sasl && options.authFile === undefined) {
    throw new FlagError("Option -S needs -Y FILE: without it every client would be refused");
  }
  return { action: "serve", options, quiet: v.quiet ?? false };
}

/**
 * What serving `options` needs permission for: the address it listens on
 * (with the server's defaults) and every file a flag names, for
 * {@linkcode checkPermissions} to check before anything is opened.
 *
 * @example Usage
 * ```ts
 * import { neededPermissions, parseFlags } from "./config.ts";
 * import assert from "node:assert/strict";
 *
 * const cli = parseFlags(["-p", "0", "-S", "-Y", "auth.txt"]);
 * assert.deepEqual(cli.action === "serve" && neededPermissions(cli.options), {
 *   listen: "127.0.0.1:0",
 *   read: [{ flag: "-Y", path: "auth.txt" }],
 * });
 * ```
 */
export function neededPermissions(options: ServerOptions): NeededPermissions {
  const named: [string, string | undefined][] = [
    ["-Y", options.authFile],
    ["-o ssl_chain_cert", options.tls ? options.tlsCertFile : undefined],
    ["-o ssl_key", options.tls ? options.tlsKeyFile : undefined],
  ];
  const snapshot = options.memoryFile === undefined
    ? { read: [], write: [] }
    : snapshotPermissions(options.memoryFile);
  return {
    listen: hostPort(options.hostname ?? "127.0.0.1", options.port ?? 11211),
    read: [
      ...named.flatMap(([flag, path]) => path === undefined ? [] : [{ flag, path }]),
      ...snapshot.read,
    ],
    ...(snapshot.write.length > 0 ? { write: snapshot.write } : {}),
  };
}

/**
 * `host:port`, with an IPv6 host in brackets (`[::1]:11211`).
 *
 * @example Usage
 * ```ts
 * import { hostPort } from "./config.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(hostPort("::1", 11211), "[::1]:11211");
 * ```
 */
export function hostPort(hostname: string, port: number): string {
  return hostname.includes(":") ? `[${hostname}]:${port}` : `${hostname}:${port}`;
}

/** node:util's parseArgs errors, cut to one plain line. */
function parseArgsMessage(message: string): string {
  const first = message.split("\n")[0];
  const unknown = /^Unknown option '([^']+)'/.exec(first);
  if (unknown) return `Unknown option ${unknown[1]}`;
  const ambiguous = /^Option '([^']+)' argument is ambiguous/.exec(first);
  if (ambiguous) return `Option ${ambiguous[1]} needs a value, not another option`;
  const missing = /^Option '([^',]+)[^']*' argument missing/.exec(first);
  if (missing) return `Option ${missing[1]} needs a value`;
  return first;
}

/** -f, -n, -D, -X, and the checks memcached makes of `slab_chunk_max` against -I. */
function applyStatsFlags(
  options: ServerOptions,
  v: {
    "slab-growth-factor"?: string;
    "slab-min-size"?: string;
    "prefix-delimiter"?: string;
    "disable-dumping"?: boolean;
  },
): void {
  const factor = v["slab-growth-factor"];
  if (factor !== undefined) {
    if (!/^\d+(\.\d+)?$/.test(factor) || !(Number(factor) > 1)) {
      throw new FlagError(`Option -f needs a factor greater than 1, got "${factor}"`);
    }
    options.growthFactor = Number(factor);
  }
  if (v["slab-min-size"] !== undefined) {
    options.minSpace = parseInteger("-n", v["slab-min-size"], 1, 1 << 20);
  }
  const delimiter = v["prefix-delimiter"];
  if (delimiter !== undefined) {
    if (delimiter.length !== 1) {
      throw new FlagError(`Option -D needs one character, got "${delimiter}"`);
    }
    options.prefixDelimiter = delimiter;
  }
  if (v["disable-dumping"]) options.disableDumping = true;
  const chunkMax = options.slabChunkMax;
  if (chunkMax === undefined) return;
  const itemMax = options.maxItemSize ?? 1024 * 1024;
  if (chunkMax > itemMax) {
    throw new FlagError(
      `Option -o slab_chunk_max (${chunkMax}) cannot be larger than -I (${itemMax})`,
    );
  }
  if (itemMax % chunkMax !== 0 || (1024 * 1024) % chunkMax !== 0) {
    throw new FlagError(
      `Option -o slab_chunk_max (${chunkMax}) must divide -I (${itemMax}) and 1048576 evenly`,
    );
  }
}

function applyExtended(options: ServerOptions, list: string): void {
  for (const entry of list.split(",")) {
    if (entry === "") continue;
    const eq = entry.indexOf("=");
    const name = eq < 0 ? entry : entry.slice(0, eq);
    const value = eq < 0 ? "" : entry.slice(eq + 1);
    switch (name) {
      case "idle_timeout":
        options.idleTimeout = parseInteger("-o idle_timeout", value, 0, 1 << 30);
        break;
      case "frame_timeout":
        options.frameTimeout = parseInteger("-o frame_timeout", value, 0, 1 << 30);
        break;
      case "snapshot_interval":
        options.snapshotInterval = parseInteger("-o snapshot_interval", value, 0, 1 << 30);
        break;
      case "ssl_chain_cert":
        options.tlsCertFile = requireValue(name, value);
        break;
      case "ssl_key":
        options.tlsKeyFile = requireValue(name, value);
        break;
      case "slab_chunk_max":
        options.slabChunkMax = parseInteger("-o slab_chunk_max", value, 1, 1024 * 1024);
        break;
      case "metrics_port":
        options.metricsPort = parseInteger("-o metrics_port", value, 0, 65535);
        break;
      case "no_lru_maintainer":
      case "no_lru_crawler":
        break; // one LRU and no crawler here anyway

      default:
        throw new FlagError(`Unknown -o option: ${name}`);
    }
  }
}

function requireValue(name: string, value: string): string {
  if (value === "") throw new FlagError(`Option -o ${name} needs a value`);
  return value;
}

function parseHostPort(text: string): ServerOptions {
  const colon = text.lastIndexOf(":");
  if (colon < 0) throw new FlagError(`Expected HOST:PORT, got "${text}"`);
  const host = text.slice(0, colon).replace(/^\[(.*)\]$/, "$1");
  const port = parseInteger("HOST:PORT", text.slice(colon + 1), 0, 65535);
  return host === "" ? { port } : { hostname: host, port };
}

/** `-t N` (1..MAX_THREADS) or `-t auto` (every core). */
function parseThreads(text: string): number {
  if (text === "auto") return Math.min(MAX_THREADS, Math.max(1, navigator.hardwareConcurrency));
  return parseInteger("-t", text, 1, MAX_THREADS);
}

function parseInteger(flag: string, text: string, min: number, max: number): number {
  if (!/^\d+$/.test(text)) {
    throw new FlagError(`Option ${flag} needs a whole number, got "${text}"`);
  }
  const n = Number(text);
  if (n < min || n > max) {
    throw new FlagError(`Option ${flag} must be between ${min} and ${max}, got ${text}`);
  }
  return n;
}

/** Parses `1048576`, `512k`, `1m` (memcached's -I syntax). */
function parseSize(flag: string, text: string): number {
  const match = /^(\d+)([kKmM]?)$/.exec(text);
  if (!match) throw new FlagError(`Option ${flag} needs a size like 1m or 512k, got "${text}"`);
  const unit = match[2].toLowerCase();
  const n = Number(match[1]) * (unit === "k" ? 1024 : unit === "m" ? 1024 * 1024 : 1);
  if (n < 1024) throw new FlagError(`Option ${flag} must be at least 1k, got "${text}"`);
  if (n > 1024 * 1024 * 1024) {
    throw new FlagError(`Option ${flag} must be at most 1024m, got "${text}"`);
  }
  return n;
}
