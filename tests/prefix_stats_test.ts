import assert from "node:assert/strict";
import { murmur3 } from "../lib/murmur3.ts";
import { PrefixStats } from "../lib/prefix_stats.ts";

/** A key's bytes, one per char. */
const bytes = (key: string) => Uint8Array.from(key, (c) => c.charCodeAt(0));

Deno.test("murmur3 matches MurmurHash3_x86_32 with seed 0", () => {
  const cases: [string, number][] = [
    ["", 0],
    ["a", 0x3c2569b2],
    ["ab", 0x9bbfd75f],
    ["abc", 0xb3dd93fa],
    ["abcd", 0x43ed676a],
    ["abcde", 0xe89b9af6],
    ["hello", 0x248bfa47],
    ["\x00\x01\x02\x03\x04\x05\x06", 0x8d7e4914],
    ["\xff\x80\x00z", 0x3b9c8cb2],
  ];
  for (const [key, hash] of cases) assert.equal(murmur3(key), hash, JSON.stringify(key));
});

Deno.test("PrefixStats dumps prefixes by murmur3 bucket, newest first within a bucket", () => {
  const detail = new PrefixStats();
  // Buckets (murmur3 % 256): "" 0, user 13, p5 15, p1 150, a 178, sess 184, p2 254.
  for (const key of ["p2:x", "sess:x", "a:b:c", "p1:x", "p5:x", "user:x", ":x"]) {
    detail.recordGet(bytes(key), false);
  }
  assert.equal(
    detail.dump(),
    [
      "PREFIX  get 1 hit 0 set 0 del 0",
      "PREFIX user get 1 hit 0 set 0 del 0",
      "PREFIX p5 get 1 hit 0 set 0 del 0",
      "PREFIX p1 get 1 hit 0 set 0 del 0",
      "PREFIX a get 1 hit 0 set 0 del 0",
      "PREFIX sess get 1 hit 0 set 0 del 0",
      "PREFIX p2 get 1 hit 0 set 0 del 0",
      "END",
      "",
    ].join("\r\n"),
  );
  // Two prefixes in one bucket: the newer is listed first.
  const same = [...Array(2000).keys()].map(String).filter((p) => murmur3(p) % 256 === 7);
  const shared = new PrefixStats();
  shared.recordSet(bytes(`${same[0]}:k`));
  shared.recordSet(bytes(`${same[1]}:k`));
  assert.equal(
    shared.dump(),
    `PREFIX ${same[1]} get 0 hit 0 set 1 del 0\r\nPREFIX ${
      same[0]
    } get 0 hit 0 set 1 del 0\r\nEND\r\n`,
  );
});

Deno.test("PrefixStats counts gets, hits, sets and deletes; skips keys without a prefix", () => {
  const detail = new PrefixStats({ delimiter: "/" });
  assert.equal(detail.delimiter, "/");
  detail.recordSet(bytes("a/1"));
  detail.recordGet(bytes("a/1"), true);
  detail.recordGet(bytes("a/2"), false);
  detail.recordDelete(bytes("a/3"));
  detail.recordGet(bytes("a:1"), true); // ':' is not the delimiter here
  detail.recordGet(bytes("n\x00/1"), true); // a NUL before the delimiter ends the search
  assert.equal(detail.dump(), "PREFIX a get 2 hit 1 set 1 del 1\r\nEND\r\n");
  detail.reset();
  assert.equal(detail.dump(), "END\r\n");
  detail.recordSet(bytes("a/1"));
  assert.equal(detail.dump(), "PREFIX a get 0 hit 0 set 1 del 0\r\nEND\r\n", "counts start over");
  assert.throws(() => new PrefixStats({ delimiter: "ab" }), /must be one character/);
});

/** The prefix stats of `workers` workers over one memory. */
function workers(n: number, enabled = false): PrefixStats[] {
  const memory = PrefixStats.allocate({ workers: n, enabled });
  return Array.from({ length: n }, (_, worker) => new PrefixStats({ memory, worker }));
}

Deno.test("PrefixStats of several workers: on, off, counts and reset are the server's", () => {
  const [a, b, c] = workers(3);
  assert.equal(b.enabled, false);
  a.enabled = true;
  assert.ok(b.enabled && c.enabled, "stats detail on from one worker turns it on for all");
  a.recordSet(bytes("user:1"));
  b.recordGet(bytes("user:1"), true);
  c.recordGet(bytes("user:2"), false);
  c.recordDelete(bytes("user:1"));
  const dump = "PREFIX user get 2 hit 1 set 1 del 1\r\nEND\r\n";
  assert.equal(a.dump(), dump);
  assert.equal(c.dump(), dump, "the same from every worker");
  b.reset();
  assert.equal(a.dump(), "END\r\n", "reset from one worker forgets every worker's prefixes");
  a.recordSet(bytes("user:1"));
  assert.equal(c.dump(), "PREFIX user get 0 hit 0 set 1 del 0\r\nEND\r\n", "counts start over");
  c.enabled = false;
  assert.equal(a.enabled, false);
  assert.ok(workers(2, true)[1].enabled, "-D turns it on for every worker");
});

Deno.test("PrefixStats of several workers: a prefix is as new as its first sighting on any", () => {
  const same = [...Array(2000).keys()].map(String).filter((p) => murmur3(p) % 256 === 7);
  const [a, b] = workers(2);
  b.recordSet(bytes(`${same[0]}:k`));
  a.recordSet(bytes(`${same[1]}:k`));
  a.recordSet(bytes(`${same[0]}:k`)); // new to a, but b saw it before same[1]
  assert.equal(
    a.dump(),
    `PREFIX ${same[1]} get 0 hit 0 set 1 del 0\r\nPREFIX ${
      same[0]
    } get 0 hit 0 set 2 del 0\r\nEND\r\n`,
  );
});
