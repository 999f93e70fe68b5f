/**
 * AcceptLoop over a scripted listener: running out of descriptors pauses
 * accepting until resumed, counts each pause as memcached counts
 * `listen_disabled_num`, and logs one line per episode. The clock is
 * injected; pauses end only when the test says a descriptor was freed.
 */
import assert from "node:assert/strict";
import { AcceptLoop } from "../lib/accept_loop.ts";

function emfile(): Error {
  return Object.assign(new Error("Too many open files (os error 24)"), { code: "EMFILE" });
}

/** A listener whose accepts follow a script: an error, a connection, or (past the end) closed. */
class ScriptedListener {
  calls = 0;
  #script: (Error | Deno.Conn)[];
  #waiters: (() => void)[] = [];

  constructor(script: (Error | Deno.Conn)[]) {
    this.#script = script;
  }

  accept(): Promise<Deno.Conn> {
    this.calls++;
    for (const waiter of this.#waiters.splice(0)) waiter();
    const next = this.#script.shift() ?? new Deno.errors.BadResource("Listener has been closed");
    return next instanceof Error ? Promise.reject(next) : Promise.resolve(next);
  }

  close(): void {}

  /** Resolves once accept has been called `n` times. */
  async called(n: number): Promise<void> {
    while (this.calls < n) await new Promise<void>((resolve) => this.#waiters.push(resolve));
  }
}

Deno.test("AcceptLoop pauses when out of descriptors, counts each pause, logs once per episode", async () => {
  const conn = (id: number) => ({ id }) as unknown as Deno.Conn;
  const listener = new ScriptedListener([
    emfile(), // 1: pause, logged
    emfile(), // 2: still paused
    conn(1), //  3: accepting again
    emfile(), // 4: a second pause 2 s later: the same episode, not logged
    conn(2), //  5
    emfile(), // 6: 20 s of accepting later: a new episode, logged
    conn(3), //  7
  ]);
  let now = 1000;
  const stats = { accepting_conns: 1, listen_disabled_num: 0, time_in_listen_disabled_us: 0 };
  const lines: string[] = [];
  const accepted: unknown[] = [];
  const loop = new AcceptLoop(listener as unknown as Deno.Listener, {
    onConn: (c) => {
      const id = (c as unknown as { id: number }).id;
      accepted.push(id);
      if (id === 2) now += 20_000;
    },
    stats,
    log: (line) => lines.push(line),
    retryMs: 3_600_000,
    maxRetryMs: 3_600_000,
    now: () => now,
  });
  await listener.called(1);
  await Promise.resolve();
  assert.deepEqual(stats, {
    accepting_conns: 0,
    listen_disabled_num: 1,
    time_in_listen_disabled_us: 0,
  });
  assert.equal(lines.length, 1);
  assert.match(lines[0], /^Too many open connections: accept failed \(Too many open files/);
  now += 3;
  loop.resume();
  await listener.called(2);
  now += 2;
  loop.resume();
  await listener.called(4);
  assert.deepEqual(accepted, [1]);
  assert.deepEqual(stats, {
    accepting_conns: 0,
    listen_disabled_num: 2,
    time_in_listen_disabled_us: 5000,
  });
  now += 2000;
  loop.resume();
  await listener.called(6);
  await Promise.resolve();
  loop.resume();
  await loop.done;
  assert.deepEqual(accepted, [1, 2, 3]);
  assert.equal(stats.listen_disabled_num, 3);
  assert.equal(stats.accepting_conns, 1);
  assert.equal(lines.length, 2, lines.join("\n"));
});

Deno.test("AcceptLoop logs other accept failures and goes on accepting", async () => {
  const lines: string[] = [];
  const accepted: Deno.Conn[] = [];
  const conn = {} as Deno.Conn;
  const listener = new ScriptedListener([new Deno.errors.ConnectionRefused("Refused"), conn]);
  const stats = { accepting_conns: 1, listen_disabled_num: 0, time_in_listen_disabled_us: 0 };
  const loop = new AcceptLoop(listener as unknown as Deno.Listener, {
    onConn: (c) => accepted.push(c),
    stats,
    log: (line) => lines.push(line),
  });
  await loop.done;
  assert.deepEqual(accepted, [conn]);
  assert.deepEqual(lines, ["accept failed: Refused"]);
  assert.equal(stats.listen_disabled_num, 0);
});
