import assert from "node:assert/strict";
import { MemoryReclaimer } from "../lib/memory_reclaimer.ts";

Deno.test("MemoryReclaimer collects once after a burst, when a whole period passed without more", async () => {
  let collections = 0;
  const reclaimer = new MemoryReclaimer({ threshold: 100, collect: () => void collections++ });
  reclaimer.note(60);
  assert.equal(reclaimer.tick(), false, "below the threshold");
  reclaimer.note(60);
  assert.equal(reclaimer.tick(), false, "still closing connections");
  assert.equal(reclaimer.tick(), true, "quiet for a period");
  assert.equal(reclaimer.tick(), false, "nothing new since");
  await Promise.resolve();
  assert.equal(collections, 1);
});

Deno.test("MemoryReclaimer leaves a server that keeps closing connections to the collector", () => {
  let collections = 0;
  const reclaimer = new MemoryReclaimer({ threshold: 10, collect: () => void collections++ });
  for (let i = 0; i < 100; i++) {
    reclaimer.note(50);
    assert.equal(reclaimer.tick(), false);
  }
  assert.equal(collections, 0);
});

Deno.test("MemoryReclaimer's default collection frees garbage in a process without --expose-gc", async () => {
  const module = new URL("../lib/memory_reclaimer.ts", import.meta.url).href;
  const script = `
    import { MemoryReclaimer } from "${module}";
    let garbage = Array.from({ length: 300_000 }, (_, i) => ({ i, s: "x" + i }));
    const before = Deno.memoryUsage().heapUsed;
    garbage = [];
    const reclaimer = new MemoryReclaimer({ threshold: 1 });
    reclaimer.note();
    reclaimer.tick();
    reclaimer.tick();
    const deadline = Date.now() + 10_000;
    while (Deno.memoryUsage().heapUsed > before / 2 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
    console.log(Math.round(before / 2 ** 20), Math.round(Deno.memoryUsage().heapUsed / 2 ** 20));
  `;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--ext=ts", script],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  assert.ok(out.success);
  const [before, after] = new TextDecoder().decode(out.stdout).trim().split(" ").map(Number);
  assert.ok(after < before / 2, `heap ${before} MiB -> ${after} MiB`);
});
