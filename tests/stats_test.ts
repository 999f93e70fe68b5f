import assert from "node:assert/strict";
import { Stats } from "../lib/stats.ts";
import { HELD, type Task, VIOLATIONS } from "./_support/shared_worker.ts";
import { runTasks, within } from "./_support/workers.ts";

Deno.test("Stats sums the workers' blocks, and reset clears all but the kept counters", () => {
  const buffer = Stats.allocate({ workers: 3, startedAt: 1_700_000_000 });
  const [a, b, c] = [0, 1, 2].map((w) => new Stats({ buffer, worker: w }));
  a.c.cmd_get += 2;
  b.c.cmd_get += 3;
  c.c.get_hits++;
  a.c.curr_connections = 4;
  b.c.curr_connections = 1;
  assert.equal(c.totals().cmd_get, 5);
  assert.equal(c.totals().get_hits, 1);
  assert.equal(c.totals().curr_connections, 5);
  b.reset();
  assert.equal(a.totals().cmd_get, 0);
  assert.equal(a.totals().curr_connections, 5, "stats reset keeps curr_connections");
  a.c.cmd_get++;
  assert.equal(c.totals().cmd_get, 1, "counting goes on from the reset");
  assert.equal(a.startedAt, 1_700_000_000);
  assert.equal(a.workers, 3);
  assert.throws(() => new Stats({ buffer, worker: 3 }), /Worker 3 has no block/);
});

Deno.test("Stats admits connections up to a server-wide limit", () => {
  const buffer = Stats.allocate({ workers: 2, startedAt: 0 });
  const [a, b] = [0, 1].map((w) => new Stats({ buffer, worker: w }));
  assert.ok(a.admit(3) && b.admit(3) && a.admit(3));
  assert.equal(b.admit(3), false);
  assert.equal(a.connections, 3);
  b.leave();
  assert.ok(b.admit(3));
});

Deno.test("Stats across 4 workers: totals are exact and the limit is never passed", async () => {
  const buffer = Stats.allocate({ workers: 4, startedAt: 0 });
  const state = new SharedArrayBuffer(64);
  const tasks: Task[] = [0, 1, 2, 3].map((id) => ({
    kind: "stats",
    id,
    stats: buffer,
    state,
    rounds: 5000,
    limit: 3,
  }));
  const admitted = await within(runTasks(tasks), "the workers", 60_000);
  const stats = new Stats({ buffer, worker: 0 });
  assert.equal(stats.totals().cmd_get, 20_000);
  assert.equal(stats.totals().bytes_read, 60_000);
  assert.equal(stats.connections, 0);
  const counters = new Int32Array(state);
  assert.equal(counters[VIOLATIONS], 0, "more connections admitted than the limit");
  assert.equal(counters[HELD], 0);
  // How many each worker admits depends on how the workers interleave (one
  // may admit none while another holds every place: seen in CI, 15000,
  // 15000, 2351, 0); the first to try is always admitted.
  assert.ok(admitted.some((n) => n > 0), `admitted per worker: ${admitted.join(", ")}`);
});
