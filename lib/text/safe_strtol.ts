/**
 * memcached's `safe_strto*` number parsers (util.c), byte for byte: C's
 * `strtol`/`strtoul`/`strtoull` in base 10 (leading whitespace, an optional
 * sign), then the whole token must be used up or end in whitespace.
 *
 * @module
 */
import { isCSpace } from "../bytes.ts";
import { U64_MAX } from "../constants.ts";

const I64_MAX = (1n << 63n) - 1n;

interface Scan {
  negative: boolean;
  magnitude: bigint;
  /** Index after the digits; -1 when no digits were found. */
  end: number;
}

function scan(s: string): Scan {
  let i = 0;
  while (i < s.length && isCSpace(s.charCodeAt(i))) i++;
  let negative = false;
  const sign = s.charCodeAt(i);
  if (sign === 0x2b || sign === 0x2d) {
    negative = sign === 0x2d;
    i++;
  }
  const start = i;
  let magnitude = 0n;
  let small = 0;
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) break;
    if (i - start < 15) {
      small = small * 10 + (c - 0x30);
    } else {
      if (i - start === 15) magnitude = BigInt(small);
      magnitude = magnitude * 10n + BigInt(c - 0x30);
    }
    i++;
  }
  if (i - start <= 15) magnitude = BigInt(small);
  return { negative, magnitude, end: i === start ? -1 : i };
}

function tailOk(s: string, end: number): boolean {
  return end >= 0 && (end === s.length || isCSpace(s.charCodeAt(end)));
}

/**
 * memcached's `safe_strtol` into an `int32_t`: parses as a 64-bit `long` and
 * truncates to 32 bits (so `4294967297` reads as 1). `undefined` when not a number.
 *
 * @example Usage
 * ```ts
 * import { safeStrtol } from "./safe_strtol.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(safeStrtol("-5"), -5);
 * assert.equal(safeStrtol("4294967297"), 1);
 * assert.equal(safeStrtol("5x"), undefined);
 * ```
 */
export function safeStrtol(s: string): number | undefined {
  const r = scan(s);
  if (!tailOk(s, r.end)) return undefined;
  if (r.magnitude > (r.negative ? I64_MAX + 1n : I64_MAX)) return undefined; // ERANGE
  const v = r.negative ? -r.magnitude : r.magnitude;
  return Number(BigInt.asIntN(32, v));
}

/** strtoul/strtoull with memcached's "no '-' on huge values" rule; `bits` is the result width. */
function unsigned(s: string, bits: 32 | 64): bigint | undefined {
  const r = scan(s);
  if (!tailOk(s, r.end)) return undefined;
  if (r.magnitude > U64_MAX) return undefined; // ERANGE
  const v = r.negative ? (U64_MAX + 1n - r.magnitude) & U64_MAX : r.magnitude;
  // memcached: a value negative as a signed long must not have come from a '-'.
  if (v >= 1n << 63n && s.slice(0, r.end).includes("-")) return undefined;
  return bits === 32 ? BigInt.asUintN(32, v) : v;
}

/**
 * memcached's `safe_strtoul` into a `uint32_t` (wider values are truncated).
 *
 * @example Usage
 * ```ts
 * import { safeStrtoul } from "./safe_strtol.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(safeStrtoul("7"), 7);
 * assert.equal(safeStrtoul("-1"), undefined);
 * ```
 */
export function safeStrtoul(s: string): number | undefined {
  const v = unsigned(s, 32);
  return v === undefined ? undefined : Number(v);
}

/**
 * memcached's `safe_strtoull` into a `uint64_t`.
 *
 * @example Usage
 * ```ts
 * import { safeStrtoull } from "./safe_strtol.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(safeStrtoull("18446744073709551615"), 18446744073709551615n);
 * assert.equal(safeStrtoull("18446744073709551616"), undefined);
 * ```
 */
export function safeStrtoull(s: string): bigint | undefined {
  return unsigned(s, 64);
}
