/**
 * Warm restarts through the server (`-e FILE` / `memoryFile`): what a client
 * sees after a restart, signals and `shutdown`, `-m`, damaged files, locks
 * and permissions, periodic snapshots.
 */
import assert from "node:assert/strict";
import { startServer } from "../../lib/mod.ts";
import type { RunningServer } from "../../lib/mod.ts";
import { RawClient } from "../_support/raw_client.ts";

/** Runs each command (ending it with `mn`) and returns everything answered, in order. */
async function transcript(port: number, commands: string[]): Promise<string> {
  await using client = await RawClient.connect(port);
  let out = "";
  for (const command of commands) {
    await client.send(`${command}mn\r\n`);
    out += `> ${command.split("\r\n")[0]}\n` + await client.readUntil("MN\r\n");
  }
  return out;
}

const BYTES = String.fromCharCode(...Array.from({ length: 256 }, (_, i) => i));

Deno.test("A restart with memoryFile is invisible to clients: every field, TTLs counting down, expiry while down", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mbserver-warm-" });
  const file = `${dir}/cache.snapshot`;
  let now = 1_700_000_000_000;
  const clock = () => now;
  // `restarted` goes down and up again; `steady` runs throughout: both must answer alike.
  let restarted: RunningServer = await startServer({ port: 0, clock, memoryFile: file });
  const steady = await startServer({ port: 0, clock });
  const both = async (commands: string[]) => {
    const a = await transcript(restarted.port, commands);
    const b = await transcript(steady.port, commands);
    assert.equal(a, b);
    return a;
  };
  try {
    await both([
      "ms plain 5 c\r\nhello\r\n",
      `ms flagged 256 F4294967295 c\r\n${BYTES}\r\n`,
      "ms counter 2 c\r\n10\r\n",
      "ma counter D5 v c\r\n",
      "ms ttl 1 T1000 c\r\nx\r\n",
      "ms short 1 T100 c\r\ny\r\n",
      "ms later 1 T200 c\r\nz\r\n",
      "ms a2V5 1 b c\r\nk\r\n",
      "ms stale 1\r\ns\r\n",
      "md stale I\r\n",
      "ms won 1\r\nw\r\n",
      "md won I\r\n",
      "mg won v c\r\n",
      "set app 7 0 1\r\na\r\n",
      "append app 0 0 1\r\nb\r\n",
      "ms gone 1\r\ng\r\n",
      "md gone\r\n",
      "touch ttl 2000\r\n",
    ]);
    now += 70_000;
    await both(["get plain\r\n"]); // fetched, and bumped (last bump over 60 s ago)
    now += 10_000;
    await both(["ms late 1 c\r\nL\r\n"]);

    await restarted.close();
    now += 70_000; // down for 70 s: `short` expires meanwhile
    restarted = await startServer({ port: 0, clock, memoryFile: file });
    assert.equal(restarted.snapshotter?.restored.status, "restored");

    const probe = (key: string, b = "") => `mg ${key} ${b ? `${b} ` : ""}s v f t c l h k\r\n`;
    const after = await both([
      ...["plain", "flagged", "counter", "ttl", "short", "later", "stale", "won", "app", "gone"]
        .map((key) => probe(key)),
      probe("a2V5", "b"),
      probe("late"),
      "gets plain flagged counter app late\r\n",
      "ms new 1 c\r\nN\r\n",
    ]);
    // Not vacuous: the restored server answered with the items.
    assert.match(after, /> mg plain [^\n]*\nVA 5 s5 f0 t-1 c1 l80 h1 kplain\r\nhello/);
    assert.match(after, /> mg ttl [^\n]*\nVA 1 s1 f0 t1850 /);
    assert.match(after, /> mg short [^\n]*\nEN kshort\r\n/);
    assert.match(after, /> mg gone [^\n]*\nEN kgone\r\n/);
    assert.match(after, /> mg stale [^\n]*\nVA 1 s1 f0 t-1 c10 l150 h0 kstale X W\r\n/);
    assert.match(after, /> mg won [^\n]*\nVA 1 s1 f0 t-1 c12 l150 h1 kwon Z X\r\n/);
    assert.match(after, /> mg a2V5 [^\n]*\nVA 1 s1 f0 t-1 c8 l150 h0 ka2V5 b\r\n/);
    assert.match(after, /> mg flagged [^\n]*\nVA 256 s256 f4294967295 t-1 c2 l150 h0 kflagged\r\n/);
    now += 100_000; // `later` expires after the restart, as it would have
    await both([probe("later"), probe("ttl")]);
  } finally {
    await restarted.close();
    await steady.close();
    await Deno.remove(dir, { recursive: true });
  }
});
