import assert from "node:assert/strict";
import { RwLock } from "../lib/rw_lock.ts";
import {
  PATTERN_AT,
  PATTERN_BYTES,
  READERS,
  type Task,
  VIOLATIONS,
  WRITERS,
} from "./_support/shared_worker.ts";
import { runTasks, startWorker, until, within } from "./_support/workers.ts";

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

Deno.test("RwLock tryRead and tryWrite take a free lock synchronously", () => {
  const lock = new RwLock();
  const a = lock.tryRead();
  const b = lock.tryRead();
  assert.ok(a && b);
  assert.equal(lock.readers, 2);
  assert.equal(lock.tryWrite(), undefined, "no writer while readers hold it");
  a.release();
  b.release();
  const w = lock.tryWrite();
  assert.ok(w);
  assert.ok(lock.writing);
  assert.equal(lock.tryRead(), undefined);
  assert.equal(lock.tryWrite(), undefined);
  w.release();
  assert.ok(!lock.writing);
  assert.equal(lock.waiting, 0);
});

Deno.test("RwLock read() and write() take a free lock at once, before any timer fires", async () => {
  const lock = new RwLock();
  const pending = lock.read();
  assert.equal(lock.readers, 1, "the share is held as soon as read() returns");
  const timer = new Promise((resolve) => setTimeout(() => resolve("timer"), 0));
  const first = await Promise.race([pending.then((g) => (g.release(), "lock")), timer]);
  assert.equal(first, "lock");
  assert.equal(lock.readers, 0);
  await timer;
  const writing = lock.write();
  assert.ok(lock.writing);
  (await writing).release();
});

Deno.test("RwLock serves waiters first in, first out", async () => {
  const lock = new RwLock();
  const order: string[] = [];
  const first = lock.tryWrite()!;
  const waiters = [
    lock.write().then((g) => (order.push("w1"), g.release())),
    lock.read().then((g) => (order.push("r1"), g.release())),
    lock.write().then((g) => (order.push("w2"), g.release())),
    lock.read().then((g) => (order.push("r2"), g.release())),
  ];
  assert.equal(lock.waiting, 4);
  first.release();
  await within(Promise.all(waiters), "the waiters");
  assert.deepEqual(order, ["w1", "r1", "w2", "r2"]);
  assert.equal(lock.waiting, 0);
});

Deno.test("RwLock lets consecutive waiting readers in together", async () => {
  const lock = new RwLock();
  const w = lock.tryWrite()!;
  const r1 = lock.read();
  const r2 = lock.read();
  w.release();
  const [g1, g2] = await within(Promise.all([r1, r2]), "both readers");
  assert.equal(lock.readers, 1, "one ticket: readers of one thread waiting together share it");
  assert.equal(lock.tryWrite(), undefined);
  g1.release();
  g2.release();
  assert.equal(lock.readers, 0);
});

Deno.test("RwLock: waiting readers of one thread share a ticket, until a writer queues after it", async () => {
  const lock = new RwLock();
  const w = lock.tryWrite()!;
  const r1 = lock.read();
  const r2 = lock.read();
  assert.equal(lock.waiting, 1, "r2 shares r1's ticket");
  let writing = false;
  const w2 = lock.write().then((g) => (writing = true, g));
  let late = false;
  const r3 = lock.read().then((g) => (late = true, g));
  assert.equal(lock.waiting, 3, "r3 came after a waiting writer: a ticket of its own");
  w.release();
  const [g1, g2] = await within(Promise.all([r1, r2]), "both sharing readers");
  g1.release();
  await tick();
  assert.ok(!writing, "the writer waits for the last reader on the shared ticket");
  g2.release();
  const g3 = await within(w2, "the writer");
  await tick();
  assert.ok(!late, "the reader after the writer waits for it");
  g3.release();
  (await within(r3, "the late reader")).release();
  assert.equal(lock.readers + lock.waiting, 0);
});

Deno.test("RwLock: a writer's release lets in every reader queued after it at once, up to the next writer", async () => {
  const lock = new RwLock();
  const w = lock.tryWrite()!;
  const readers = [lock.read(), lock.read(), lock.read()];
  const writer = lock.write();
  const late = lock.read();
  w.release();
  assert.equal(lock.readers, 1, "in before any of them ran (on one shared ticket)");
  const guards = await within(Promise.all(readers), "the readers");
  assert.equal(lock.waiting, 2, "the writer and the reader after it still wait");
  for (const g of guards) g.release();
  (await within(writer, "the writer")).release();
  (await within(late, "the late reader")).release();
  assert.equal(lock.readers + lock.waiting, 0);
});

Deno.test("RwLock: a waiting writer blocks readers that come after it", async () => {
  const lock = new RwLock();
  const reader = lock.tryRead()!;
  let writing = false;
  const writer = lock.write().then((g) => {
    writing = true;
    return g;
  });
  assert.equal(lock.tryRead(), undefined, "a new reader must queue behind the writer");
  let lateReader = false;
  const late = lock.read().then((g) => {
    lateReader = true;
    assert.ok(!lock.writing);
    g.release();
  });
  await tick();
  assert.ok(!writing && !lateReader);
  reader.release();
  const w = await within(writer, "the writer");
  assert.ok(writing);
  await tick();
  assert.ok(!lateReader, "the late reader waits for the writer to finish");
  w.release();
  await within(late, "the late reader");
  assert.ok(lateReader);
});

Deno.test("RwLock releases with `using`, and releasing twice does nothing", async () => {
  const lock = new RwLock();
  {
    using _w = await lock.write();
    assert.ok(lock.writing);
  }
  assert.ok(!lock.writing);
  {
    using _r = lock.tryRead()!;
    assert.equal(lock.readers, 1);
  }
  assert.equal(lock.readers, 0);
  const g = lock.tryRead()!;
  g.release();
  g.release();
  assert.equal(lock.readers, 0);
  assert.ok(lock.tryWrite(), "a double release must not hand out an extra turn");
});

Deno.test("RwLock keeps a writer alone across awaits while readers queue in order", async () => {
  const lock = new RwLock();
  const log: string[] = [];
  const writer = (async () => {
    using _w = await lock.write();
    log.push("write start");
    await tick();
    await tick();
    log.push("write end");
  })();
  const readers = [1, 2, 3].map(async (n) => {
    using _r = await lock.read();
    log.push(`read ${n}`);
  });
  await within(Promise.all([writer, ...readers]), "the writer and readers");
  assert.deepEqual(log, ["write start", "write end", "read 1", "read 2", "read 3"]);
});

Deno.test("RwLock counters wrap around without losing turns", () => {
  const lock = new RwLock();
  const words = new Int32Array(lock.buffer);
  words.fill(0x7fff_fffe, 0, 3); // every ticket counter two short of overflow
  for (let i = 0; i < 5; i++) {
    const r1 = lock.tryRead()!;
    const r2 = lock.tryRead()!;
    assert.equal(lock.readers, 2);
    r1.release();
    r2.release();
    const w = lock.tryWrite();
    assert.ok(w, `turn ${i}`);
    w.release();
  }
});

Deno.test("RwLock optimistic reads: a stamp unless a writer holds it, void once a writer has had a turn", async () => {
  const lock = new RwLock();
  const other = new RwLock(lock.buffer); // as another worker attaches
  const stamp = lock.optimistic();
  assert.ok(stamp >= 0);
  const read = other.tryRead()!;
  assert.ok(lock.validate(stamp), "readers do not void it");
  const writer = other.write();
  assert.equal(lock.waiting, 1);
  assert.equal(lock.optimistic(), stamp, "a writer waiting for its turn does not stop one");
  assert.ok(lock.validate(stamp));
  read.release();
  const write = await writer;
  assert.equal(lock.optimistic(), -1, "none while a writer holds it");
  assert.equal(lock.validate(stamp), false, "void from the writer's turn on");
  write.release();
  const after = lock.optimistic();
  assert.ok(after >= 0 && after !== stamp);
  assert.equal(lock.validate(stamp), false);
  assert.ok(lock.validate(after));
  other.tryWrite()!.release();
  assert.equal(lock.validate(after), false, "a tryWrite turn voids it too");
});

Deno.test("RwLock keeps writers alone and readers together across 4 workers", async () => {
  const lock = new RwLock();
  const state = new SharedArrayBuffer(PATTERN_AT + PATTERN_BYTES);
  const tasks: Task[] = [0, 1, 2, 3].map((id) => ({
    kind: "exclusion",
    id,
    lock: lock.buffer,
    state,
    rounds: 500,
  }));
  const turns = await within(runTasks(tasks), "the workers", 60_000);
  const counters = new Int32Array(state, 0, 16);
  assert.equal(
    counters[VIOLATIONS],
    0,
    "a writer shared the lock, or a reader saw a mixed pattern",
  );
  assert.equal(counters[READERS] + counters[WRITERS], 0);
  assert.ok(turns.every((n) => n > 0));
  assert.equal(lock.waiting + lock.readers, 0);
});

Deno.test("RwLock across workers: a reader arriving after a waiting writer enters after it", async () => {
  const lock = new RwLock();
  const log = new Int32Array(new SharedArrayBuffer(64));
  const workers = [1, 2, 3, 4].map(() => startWorker());
  try {
    workers.forEach((w, i) =>
      w.send({ kind: "queue", id: i + 1, lock: lock.buffer, state: log.buffer })
    );
    for (const w of workers) await w.answer(); // ready
    const held = lock.tryRead()!; // a reader holds the lock
    const queued = ["write", "read", "write", "read"];
    for (const [i, mode] of queued.entries()) {
      workers[i].send(mode);
      await until(
        () => lock.waiting === i + 1 || Atomics.load(log, 0) > 0,
        `worker ${i + 1} queues`,
      );
      assert.equal(Atomics.load(log, 0), 0, `worker ${i + 1} waits its turn`);
    }
    held.release();
    for (let i = 0; i < 4; i++) {
      await until(() => Atomics.load(log, 0) === i + 1, `worker ${i + 1} enters`);
      assert.deepEqual([...log.subarray(1, 2 + i)], [1, 2, 3, 4].slice(0, i + 1));
      workers[i].send("release");
      await workers[i].answer();
    }
    assert.equal(lock.waiting + lock.readers, 0);
  } finally {
    for (const w of workers) w[Symbol.dispose]();
  }
});
