import type { MetaFlags } from "../commands/meta_flags.ts";
import { base64Decode } from "./base64_decode.ts";
import { safeStrtol, safeStrtoul, safeStrtoull } from "./safe_strtol.ts";

/** memcached's `MFLAG_MAX_OPAQUE_LENGTH`. */
export const MAX_OPAQUE_LENGTH = 32;

/** The flags, or the error line memcached answers. */
export type MetaParse = { ok: true; flags: MetaFlags } | { ok: false; error: string };

/**
 * Reads meta flags from `words[start..]` as memcached 1.6.18's
 * `_meta_flag_preparse` does: a duplicate or unknown flag stops at once; a
 * bad numeric token or an undecodable base64 key is remembered and reported
 * after the rest are read.
 *
 * @example Usage
 * ```ts
 * import { parseMetaFlags } from "./parse_meta_flags.ts";
 * import assert from "node:assert/strict";
 *
 * const parsed = parseMetaFlags(["mg", "foo", "v", "T30"], 2);
 * assert.ok(parsed.ok && parsed.flags.value && parsed.flags.exptime === 30);
 * assert.deepEqual(parseMetaFlags(["mg", "foo", "T"], 2), {
 *   ok: false,
 *   error: "CLIENT_ERROR bad token in command line format",
 * });
 * ```
 */
export function parseMetaFlags(words: string[], start: number): MetaParse {
  const f: MetaFlags = {
    key: words[1],
    keyBinary: false,
    noUpdate: false,
    locked: false,
    vivify: false,
    value: false,
    setStale: false,
    noReply: false,
    hasCas: false,
    newTtl: false,
    mode: "",
    exptime: 0,
    autovivExptime: 0,
    recacheTime: 0,
    clientFlags: 0,
    reqCas: 0n,
    delta: 1n,
    initial: 0n,
    order: "",
    opaqueTooLong: false,
  };
  let error: string | undefined;
  let failed = false;
  const badToken = () => {
    error = "CLIENT_ERROR bad token in command line format";
    failed = true;
  };
  const seen = new Set<number>();
  for (let i = start; i < words.length; i++) {
    const token = words[i];
    const o = token.charCodeAt(0);
    if (o >= 127 || seen.has(o)) return { ok: false, error: "CLIENT_ERROR duplicate flag" };
    seen.add(o);
    f.order += token[0];
    const arg = token.slice(1);
    switch (token[0]) {
      case "b": {
        const decoded = base64Decode(f.key);
        if (decoded === undefined) {
          error = "CLIENT_ERROR error decoding key";
          failed = true;
          f.key = "";
        } else {
          f.key = decoded;
        }
        f.keyBinary = true;
        break;
      }
      case "N": {
        f.locked = true;
        f.vivify = true;
        const n = safeStrtol(arg);
        if (n === undefined) badToken();
        else f.autovivExptime = n;
        break;
      }
      case "T": {
        f.locked = true;
        const n = safeStrtol(arg);
        if (n === undefined) {
          badToken();
        } else {
          f.exptime = n;
          f.newTtl = true;
        }
        break;
      }
      case "R": {
        f.locked = true;
        const n = safeStrtol(arg);
        if (n === undefined) badToken();
        else f.recacheTime = n;
        break;
      }
      case "l":
      case "h":
        f.locked = true;
        break;
      case "O":
        f.opaqueTooLong = token.length > MAX_OPAQUE_LENGTH;
        break;
      case "P":
      case "L":
      case "k":
      case "s":
      case "t":
      case "c":
      case "f":
        break;
      case "v":
        f.value = true;
        break;
      case "u":
        f.noUpdate = true;
        break;
      case "q":
        f.noReply = true;
        break;
      case "F": {
        const n = safeStrtoul(arg);
        if (n === undefined) failed = true;
        else f.clientFlags = n;
        break;
      }
      case "C": {
        const n = safeStrtoull(arg);
        if (n === undefined) {
          badToken();
        } else {
          f.reqCas = n;
          f.hasCas = true;
        }
        break;
      }
      case "M":
        if (token.length !== 2) {
          error = "CLIENT_ERROR incorrect length for M token";
          failed = true;
        } else {
          f.mode = token[1];
        }
        break;
      case "J": {
        const n = safeStrtoull(arg);
        if (n === undefined) {
          error = "CLIENT_ERROR invalid numeric initial value";
          failed = true;
        } else {
          f.initial = n;
        }
        break;
      }
      case "D": {
        const n = safeStrtoull(arg);
        if (n === undefined) {
          error = "CLIENT_ERROR invalid numeric delta value";
          failed = true;
        } else {
          f.delta = n;
        }
        break;
      }
      case "I":
        f.setStale = true;
        break;
      default:
        return { ok: false, error: "CLIENT_ERROR invalid flag" };
    }
  }
  if (failed) return { ok: false, error: error ?? "CLIENT_ERROR bad command line format" };
  return { ok: true, flags: f };
}
