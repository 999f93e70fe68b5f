/**
 * Checking a stats reply against an expectation table of `_expected.ts`.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { StatPair } from "../_support/stats.ts";

const PATTERNS: Record<string, RegExp> = {
  "~": /^\d+$/,
  "~f": /^\d+\.\d{6}$/,
  "~s": /^\S+$/,
  "~v": /^1\.6\.18/,
};

/** Parses `name value` lines into pairs. */
export function table(text: string): StatPair[] {
  return text.trim().split("\n").map((line) => {
    const at = line.indexOf(" ");
    return [line.slice(0, at), line.slice(at + 1)];
  });
}

/**
 * Asserts that `actual` has exactly the names of `expected`, in order, and
 * that each value equals the expected one or matches its pattern.
 */
export function expectStats(actual: StatPair[], expected: string, label: string): void {
  const want = table(expected);
  assert.deepEqual(actual.map(([n]) => n), want.map(([n]) => n), `${label}: names in order`);
  const wrong: string[] = [];
  for (const [i, [name, spec]] of want.entries()) {
    const value = actual[i][1];
    const pattern = PATTERNS[spec];
    const ok = pattern ? pattern.test(value) : value === spec;
    if (!ok) wrong.push(`${name}: got ${JSON.stringify(value)}, expected ${spec}`);
  }
  assert.deepEqual(wrong, [], `${label}: values`);
}

/** The value of `name` as a number; fails when it is missing. */
export function numberOf(pairs: StatPair[], name: string): number {
  const pair = pairs.find(([n]) => n === name);
  assert.ok(pair, `no stat named ${name}`);
  return Number(pair[1]);
}
