/**
 * The roster of a server with several workers: what one worker lists of its
 * connections, the others read (`stats conns`).
 */
import assert from "node:assert/strict";
import type { ConnectionInfo } from "../lib/connection_info.ts";
import { ConnectionRoster } from "../lib/connection_roster.ts";

function info(id: number, partial = false): ConnectionInfo {
  return {
    id,
    addr: `tcp:127.0.0.1:${50000 + id}`,
    listenAddr: "tcp:127.0.0.1:11211",
    lastCommand: 1_700_000_000_000 + id,
    partial,
  };
}

function attach(workers: number, maxConnections = 64): ConnectionRoster[] {
  const memory = ConnectionRoster.allocate({ workers, maxConnections });
  return Array.from(
    { length: workers },
    (_, worker) => new ConnectionRoster(memory, { worker, workers }),
  );
}

Deno.test("ConnectionRoster: each worker reads the connections of the others, not its own", () => {
  const [a, b, c] = attach(3);
  a.add(info(1));
  b.add(info(2));
  c.add(info(3));
  a.add(info(4));
  assert.deepEqual(a.others().map((i) => i.id).sort(), [2, 3]);
  assert.deepEqual(b.others().map((i) => i.id).sort(), [1, 3, 4]);
  assert.deepEqual(c.others().find((i) => i.id === 4), info(4));
});

Deno.test("ConnectionRoster: updates show, removed connections go, and their slots are reused", () => {
  const [a, b] = attach(2);
  const slots = [1, 2, 3].map((id) => a.add(info(id)));
  a.update(slots[1], { lastCommand: 42, partial: true });
  assert.deepEqual(b.others().find((i) => i.id === 2), {
    ...info(2),
    lastCommand: 42,
    partial: true,
  });
  a.remove(slots[0]);
  assert.deepEqual(b.others().map((i) => i.id).sort(), [2, 3]);
  assert.equal(a.add(info(9)), slots[0], "the freed slot");
  assert.deepEqual(b.others().map((i) => i.id).sort(), [2, 3, 9]);
});

Deno.test("ConnectionRoster: grows as connections come, up to -c per worker, then leaves them out", () => {
  const [a, b] = attach(2, 40);
  const slots = Array.from({ length: 40 }, (_, i) => a.add(info(i + 1)));
  assert.ok(slots.every((slot) => slot >= 0));
  assert.equal(b.others().length, 40);
  assert.equal(a.add(info(99)), -1, "over -c: not listed");
  assert.equal(b.add(info(100)) >= 0, true, "the other worker's slots are its own");
  assert.equal(a.others().length, 1);
  assert.equal(b.others().length, 40);
});

Deno.test("ConnectionRoster: an address longer than a slot keeps is cut, not spilled into the next", () => {
  const [a, b] = attach(2);
  const long = `tcp:[${"f".repeat(300)}]:1`;
  a.add({ ...info(1), addr: long });
  a.add(info(2));
  const listed = b.others().sort((x, y) => x.id - y.id);
  assert.equal(listed[0].addr, long.slice(0, 80));
  assert.deepEqual(listed[1], info(2));
  assert.deepEqual(a.others(), [], "nothing written into the other worker's slots");
});
