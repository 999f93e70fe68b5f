import assert from "node:assert/strict";
import { RwLock } from "../lib/rw_lock.ts";

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
});

Deno.test("RwLock read() takes a free lock at once, before any timer fires", async () => {
  const lock = new RwLock();
  const pending = lock.read();
  assert.equal(lock.readers, 1, "the share is held as soon as read() returns");
  const timer = new Promise((resolve) => setTimeout(() => resolve("timer"), 0));
  const first = await Promise.race([pending.then((g) => (g.release(), "lock")), timer]);
  assert.equal(first, "lock");
  assert.equal(lock.readers, 0);
  await timer;
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
  await Promise.all(waiters);
  assert.deepEqual(order, ["w1", "r1", "w2", "r2"]);
  assert.equal(lock.waiting, 0);
});

Deno.test("RwLock lets consecutive waiting readers in together", async () => {
  const lock = new RwLock();
  const w = lock.tryWrite()!;
  const r1 = lock.read();
  const r2 = lock.read();
  w.release();
  const [g1, g2] = await Promise.all([r1, r2]);
  assert.equal(lock.readers, 2);
  g1.release();
  g2.release();
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
  const w = await writer;
  assert.ok(writing);
  await tick();
  assert.ok(!lateReader, "the late reader waits for the writer to finish");
  w.release();
  await late;
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
  await Promise.all([writer, ...readers]);
  assert.deepEqual(log, ["write start", "write end", "read 1", "read 2", "read 3"]);
});
