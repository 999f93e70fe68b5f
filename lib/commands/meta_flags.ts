/**
 * What a meta command's flags ask for: memcached's `struct _meta_flags`,
 * with the key (decoded when `b` was given) and the flags' order. Decoded
 * by the meta protocol (`lib/text/parse_meta_flags.ts`), read by the meta
 * commands of the command layer.
 *
 * @example Usage
 * ```ts
 * import type { MetaFlags } from "./meta_flags.ts";
 *
 * const ttlOnly = (flags: MetaFlags) => flags.newTtl && flags.order === "T";
 * ```
 */
export interface MetaFlags {
  /** The key, base64-decoded when `b` was given. */
  key: string;
  keyBinary: boolean;
  noUpdate: boolean;
  /** Some flag needs the item before its LRU bump (h, l, N, R, T). */
  locked: boolean;
  vivify: boolean;
  value: boolean;
  setStale: boolean;
  noReply: boolean;
  hasCas: boolean;
  newTtl: boolean;
  /** The `M` flag's mode character, "" when absent. */
  mode: string;
  /** Protocol expiry of `T`, `N` and `R` (seconds, as given). */
  exptime: number;
  autovivExptime: number;
  recacheTime: number;
  clientFlags: number;
  reqCas: bigint;
  delta: bigint;
  initial: bigint;
  /**
   * The flags' first characters in the order given. Order matters where
   * flags act on the item in turn: `T`, `N` and `R` act in that order, `t`
   * reports the TTL as of its place, and a too-long `O` stops the command
   * where it stands.
   */
  order: string;
  /** The `O` flag is longer than memcached accepts (`MFLAG_MAX_OPAQUE_LENGTH`, 32). */
  opaqueTooLong: boolean;
}
