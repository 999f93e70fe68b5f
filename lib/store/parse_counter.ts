const U64 = (1n << 64n) - 1n;

/**
 * Parses a stored counter as memcached's `safe_strtoull` does: optional
 * leading white space and sign, decimal digits, then the end or white space.
 * A negative number is accepted only when it wraps to below 2^63.
 *
 * @returns The value, or `undefined` when it is not a number incr/decr accept.
 *
 * @example Usage
 * ```ts
 * import { parseCounter } from "./parse_counter.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(parseCounter(new TextEncoder().encode("42  ")), 42n);
 * assert.equal(parseCounter(new TextEncoder().encode("4x")), undefined);
 * ```
 */
export function parseCounter(value: Uint8Array): bigint | undefined {
  if (value.length === 0) return undefined;
  let i = 0;
  while (i < value.length && isSpace(value[i])) i++;
  let negative = false;
  if (value[i] === 0x2b || value[i] === 0x2d) negative = value[i++] === 0x2d;
  const start = i;
  let n = 0n;
  while (i < value.length && value[i] >= 0x30 && value[i] <= 0x39) {
    n = n * 10n + BigInt(value[i] - 0x30);
    i++;
  }
  if (i === start) return undefined; // strtoull converted nothing
  if (i < value.length && !isSpace(value[i])) return undefined;
  if (n > U64) return undefined;
  if (negative) {
    n = (U64 + 1n - n) & U64;
    if (n >= 1n << 63n) return undefined;
  }
  return n;
}

function isSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}
