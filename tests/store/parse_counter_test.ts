import assert from "node:assert/strict";
import { parseCounter } from "../../lib/store/parse_counter.ts";
import { bytes } from "./_clocked.ts";

Deno.test("parseCounter reads numbers as memcached's safe_strtoull does", () => {
  const cases: [string, bigint | undefined][] = [
    ["0", 0n],
    ["42", 42n],
    [" 7", 7n],
    ["12 ", 12n],
    ["007", 7n],
    ["+5", 5n],
    ["-0", 0n],
    ["-18446744073709551615", 1n],
    ["18446744073709551615", 18446744073709551615n],
    ["18446744073709551616", undefined],
    ["-1", undefined],
    ["abc", undefined],
    ["  ", undefined],
    ["", undefined],
    ["1x", undefined],
  ];
  for (const [text, want] of cases) {
    assert.equal(parseCounter(bytes(text)), want, JSON.stringify(text));
  }
});
