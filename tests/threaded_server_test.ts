/**
 * A server on several workers (`-t N`) as clients see it: one store, one set
 * of counters and limits, logs and timeouts in every worker, one port, and a
 * failing worker that takes the server down.
 */
import assert from "node:assert/strict";
import { type RunningServer, startServer, ThreadedServer } from "../lib/mod.ts";
import { RawClient } from "./_support/raw_client.ts";
import { textStats } from "./_support/stats.ts";
import { until, within } from "./_support/workers.ts";

const THREADS = 4;
/** Connections enough that every worker gets some (the kernel spreads them by address). */
const CONNECTIONS = 12;

async function connectAll(port: number, n = CONNECTIONS): Promise<RawClient[]> {
  const clients = await Promise.all(Array.from({ length: n }, () => RawClient.connect(port)));
  // A round trip each: every connection is accepted and counted by its worker.
  for (const client of clients) {
    await client.send("version\r\n");
    assert.match(await client.readLine(), /^VERSION /);
  }
  return clients;
}

/** `stats` as a map, read over a new connection. */
async function stats(port: number): Promise<Map<string, string>> {
  await using client = await RawClient.connect(port);
  await client.send("stats\r\n");
  const text = await client.readUntil("END\r\n");
  const lines = text.split("\r\n").filter((l) => l.startsWith("STAT "));
  return new Map(lines.map((l) => l.split(" ").slice(1) as [string, string]));
}

/** Resolves once `port` refuses connections (a terminated worker's listener closes as it ends). */
async function refusedOn(port: number, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (true) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
    } catch {
      return;
    }
    if (Date.now() > end) throw new Error(`Port ${port} still accepts connections`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Each client sets its own key `k<i>` (flags `i`, value `v<i % 10>`). */
async function setOneEach(clients: RawClient[]): Promise<void> {
  for (const [i, client] of clients.entries()) {
    await client.send(`set k${i} ${i} 0 2\r\nv${i % 10}\r\n`);
    assert.equal(await client.readLine(), "STORED\r\n");
  }
}

/** Every client gets every key of {@linkcode setOneEach} in one multi-get; returns the keys asked. */
async function assertEachSeesAll(clients: RawClient[]): Promise<string> {
  const keys = clients.map((_, i) => `k${i}`).join(" ");
  for (const client of clients) {
    await client.send(`get ${keys}\r\n`);
    const reply = await client.readUntil("END\r\n");
    for (let i = 0; i < clients.length; i++) {
      assert.ok(reply.includes(`VALUE k${i} ${i} 2\r\nv${i % 10}\r\n`), reply);
    }
  }
  return keys;
}

async function withServer(
  options: Parameters<typeof startServer>[0],
  fn: (server: RunningServer) => Promise<void>,
): Promise<void> {
  const server = await startServer({ port: 0, threads: THREADS, ...options });
  try {
    await fn(server);
  } finally {
    await server.close();
  }
}

Deno.test("-t 4: every connection sees every write, whichever worker serves it", async () => {
  await withServer({}, async (server) => {
    assert.ok(server instanceof ThreadedServer);
    const clients = await connectAll(server.port);
    try {
      await setOneEach(clients);
      const keys = await assertEachSeesAll(clients);
      await clients[0].send("flush_all\r\n");
      assert.equal(await clients[0].readLine(), "OK\r\n");
      for (const client of clients) {
        await client.send(`get ${keys}\r\n`);
        assert.equal(await client.readLine(), "END\r\n", "the flush reached every worker");
      }
    } finally {
      for (const client of clients) client.close();
    }
  });
});

Deno.test("-t 4: stats from any connection total every worker's counters and report threads", async () => {
  await withServer({}, async (server) => {
    const clients = await connectAll(server.port);
    try {
      for (const client of clients) {
        await client.send("get nothing\r\n");
        assert.equal(await client.readLine(), "END\r\n");
      }
      const s = await stats(server.port);
      assert.equal(s.get("threads"), String(THREADS));
      assert.equal(s.get("cmd_get"), String(CONNECTIONS));
      assert.equal(s.get("get_misses"), String(CONNECTIONS));
      assert.equal(s.get("curr_connections"), String(CONNECTIONS + 1), "with the stats connection");
      // memcached counts its listening socket too, once whatever its threads.
      assert.equal(s.get("total_connections"), String(CONNECTIONS + 2));
    } finally {
      for (const client of clients) client.close();
    }
  });
});

/** `stats conns` asked over `client`: each client connection's address and state. */
async function conns(client: RawClient): Promise<Map<string, string>> {
  const stats = new Map(await textStats(client, "stats conns"));
  const listed = new Map<string, string>();
  for (const name of stats.keys()) {
    const id = name.match(/^(\d+):listen_addr$/)?.[1];
    if (id !== undefined) listed.set(stats.get(`${id}:addr`)!, stats.get(`${id}:state`)!);
  }
  return listed;
}

Deno.test("-t 4: stats conns from any connection lists the connections of every worker", async () => {
  await withServer({}, async (server) => {
    const clients = await connectAll(server.port);
    try {
      for (const asking of [clients[0], clients[CONNECTIONS - 1]]) {
        const listed = await conns(asking);
        assert.deepEqual(
          [...listed.keys()].sort(),
          clients.map((c) => c.address).sort(),
          "every client, whichever worker serves it",
        );
        for (const client of clients) {
          const state = client === asking ? "conn_parse_cmd" : "conn_read";
          assert.equal(listed.get(client.address), state, client.address);
        }
      }
      // Closed connections leave every worker's list.
      const closing = clients.splice(1);
      for (const client of closing) client.close();
      const left = [clients[0].address];
      const end = Date.now() + 5000;
      let listed = [...(await conns(clients[0])).keys()];
      while (String(listed) !== String(left) && Date.now() < end) {
        await new Promise((resolve) => setTimeout(resolve, 10));
        listed = [...(await conns(clients[0])).keys()];
      }
      assert.deepEqual(listed, left, "the closed connections are off every worker's list");
    } finally {
      for (const client of clients) client.close();
    }
  });
});

Deno.test("-t 4: stats detail on, its dump and stats reset hold for every worker", async () => {
  await withServer({}, async (server) => {
    const clients = await connectAll(server.port);
    const ask = async (client: RawClient, command: string, end = "END\r\n") => {
      await client.send(`${command}\r\n`);
      return await client.readUntil(end);
    };
    try {
      assert.equal(await ask(clients[0], "stats detail on", "\r\n"), "OK\r\n");
      for (const [i, client] of clients.entries()) {
        assert.equal(await ask(client, `set p${i % 3}:k${i} 0 0 1\r\nv`, "\r\n"), "STORED\r\n");
        await ask(client, `get p${i % 3}:k${i}`);
      }
      const dump = (await ask(clients[CONNECTIONS - 1], "stats detail dump")).split("\r\n");
      for (const prefix of ["p0", "p1", "p2"]) {
        assert.ok(dump.includes(`PREFIX ${prefix} get 4 hit 4 set 4 del 0`), dump.join("\n"));
      }
      assert.match(await ask(clients[5], "stats settings"), /STAT detail_enabled yes\r\n/);
      assert.equal(await ask(clients[7], "stats reset", "\r\n"), "RESET\r\n");
      assert.equal(await ask(clients[2], "stats detail dump"), "END\r\n");
      assert.equal(await ask(clients[3], "stats detail off", "\r\n"), "OK\r\n");
      for (const client of clients) await ask(client, "get p0:k0");
      assert.equal(await ask(clients[0], "stats detail dump"), "END\r\n", "off on every worker");
    } finally {
      for (const client of clients) client.close();
    }
  });
});

Deno.test("-t 4: per-class counts of stats slabs and stats items are the server's", async () => {
  await withServer({}, async (server) => {
    const clients = await connectAll(server.port);
    try {
      for (const [i, client] of clients.entries()) {
        await client.send(`set k${i} 0 0 2\r\nv${i % 10}\r\nget k${i}\r\n`);
        assert.equal(
          await client.readUntil("END\r\n"),
          `STORED\r\nVALUE k${i} 0 2\r\nv${i % 10}\r\nEND\r\n`,
        );
      }
      const group = async (name: string) => {
        await clients[0].send(`stats ${name}\r\n`);
        return await clients[0].readUntil("END\r\n");
      };
      const slabs = await group("slabs");
      assert.match(slabs, new RegExp(`STAT 1:cmd_set ${CONNECTIONS}\r\n`), slabs);
      assert.match(slabs, new RegExp(`STAT 1:get_hits ${CONNECTIONS}\r\n`), slabs);
      assert.match(slabs, new RegExp(`STAT 1:used_chunks ${CONNECTIONS}\r\n`), slabs);
      assert.match(await group("items"), new RegExp(`STAT items:1:number ${CONNECTIONS}\r\n`));
      await clients[1].send("stats reset\r\n");
      assert.equal(await clients[1].readLine(), "RESET\r\n");
      assert.match(await group("slabs"), /STAT 1:cmd_set 0\r\n/, "reset for every worker");
    } finally {
      for (const client of clients) client.close();
    }
  });
});

Deno.test("-t 4: /metrics counts the commands of every worker", async () => {
  await withServer({ metricsPort: 0 }, async (server) => {
    const clients = await connectAll(server.port);
    try {
      for (const client of clients) {
        await client.send("get nothing\r\n");
        assert.equal(await client.readLine(), "END\r\n");
      }
      const page = await (await fetch(`http://127.0.0.1:${server.metricsPort}/metrics`)).text();
      assert.match(
        page,
        new RegExp(
          `^mbserver_command_duration_seconds_count\\{command="get"\\} ${CONNECTIONS}$`,
          "m",
        ),
        page,
      );
      assert.match(page, new RegExp(`^memcached_current_connections ${CONNECTIONS}$`, "m"));
    } finally {
      for (const client of clients) client.close();
    }
  });
});

Deno.test("-t 4: a warm restart keeps what every worker stored; workers report the snapshots", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mbserver-threads-" });
  const memoryFile = `${dir}/cache.snapshot`;
  try {
    await withServer({ memoryFile }, async (server) => {
      const clients = await connectAll(server.port);
      try {
        await setOneEach(clients);
      } finally {
        for (const client of clients) client.close();
      }
    });
    await withServer({ memoryFile }, async (server) => {
      const clients = await connectAll(server.port);
      try {
        await assertEachSeesAll(clients);
      } finally {
        for (const client of clients) client.close();
      }
      const s = await stats(server.port);
      assert.equal(s.get("snapshot_in_progress"), "0");
      assert.equal(s.get("snapshot_failures"), "0");
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("-t 4: -c limits the connections of every worker together", async () => {
  await withServer({ maxConnections: 3 }, async (server) => {
    const clients = await connectAll(server.port, 3);
    try {
      for (let i = 0; i < 6; i++) {
        await using extra = await RawClient.connect(server.port);
        assert.equal(await extra.readLine(), "ERROR Too many open connections\r\n");
      }
      assert.equal(server.stats.totals().rejected_connections, 6);
      assert.equal(server.stats.totals().curr_connections, 3);
    } finally {
      for (const client of clients) client.close();
    }
    // Each worker counts its connections out again.
    await until(() => server.stats.connections === 0, "every connection is counted out");
  });
});

Deno.test("-t 4: idle connections time out in every worker", async () => {
  let now = 1_700_000_000_000;
  await withServer(
    { idleTimeout: 10, clock: () => now, timeoutCheckIntervalMs: 5 },
    async (server) => {
      const clients = await connectAll(server.port);
      try {
        // A connection notes its last command once its reply is written, which
        // may come after the client read it (and after a single step of the
        // clock): step the clock on until every connection is kicked.
        const closed = Promise.all(clients.map((client) => client.closedByPeer(5000)));
        const ticker = setInterval(() => now += 11_000, 20);
        try {
          for (const kicked of await closed) assert.ok(kicked);
        } finally {
          clearInterval(ticker);
        }
        await until(
          () => server.stats.totals().idle_kicks === CONNECTIONS,
          "every worker counts its kicks",
        );
      } finally {
        for (const client of clients) client.close();
      }
    },
  );
});

Deno.test("-t 4: -vv logs the commands of every worker, each connection under its own number", async () => {
  const lines: string[] = [];
  await withServer({ verbose: 2, log: (line) => lines.push(line) }, async (server) => {
    const clients = await connectAll(server.port);
    for (const client of clients) client.close();
    await until(
      () => lines.filter((l) => l.endsWith(" version")).length === CONNECTIONS,
      "every connection's command is logged",
    );
    const ids = lines.filter((l) => l.endsWith(" version")).map((l) => parseInt(l.slice(1)));
    assert.equal(new Set(ids).size, CONNECTIONS, `connection numbers: ${ids}`);
    // Worker w numbers its connections w+1, w+1+4, …: more than one worker served.
    assert.ok(new Set(ids.map((id) => (id - 1) % THREADS)).size > 1, `ids ${ids}`);
  });
});

for (const threads of [1, THREADS]) {
  Deno.test(`A second server on a busy port refuses to start (-t ${threads})`, async () => {
    const first = await startServer({ port: 0, threads });
    try {
      await assert.rejects(
        () => startServer({ port: first.port, threads: THREADS }),
        /Failed to listen on 127\.0\.0\.1:\d+: Address already in use/,
      );
      await assert.rejects(
        () => startServer({ port: first.port }),
        /Failed to listen on 127\.0\.0\.1:\d+: Address already in use/,
      );
      // The first server still answers: the refused ones took nothing from it.
      await connectAll(first.port, 2).then((cs) => cs.forEach((c) => c.close()));
    } finally {
      await first.close();
    }
  });
}

Deno.test("-t 4 with port 0: every worker binds the one port picked", async () => {
  const lines: string[] = [];
  await withServer({ port: 0, verbose: 2, log: (line) => lines.push(line) }, async (server) => {
    assert.notEqual(server.port, 0);
    const clients = await connectAll(server.port, 16);
    for (const client of clients) client.close();
    await until(() => lines.filter((l) => l.endsWith(" version")).length === 16, "16 logged");
    const workers = new Set(
      lines.filter((l) => l.endsWith(" version")).map((l) => (parseInt(l.slice(1)) - 1) % THREADS),
    );
    assert.ok(workers.size > 1, "connections to the one port reached several workers");
  });
});

Deno.test("A worker that throws takes the server down: logged, every worker stopped", async () => {
  const lines: string[] = [];
  const failure = /Worker 1 failed: .*Deliberate failure/;
  let server: ThreadedServer;
  try {
    server = await ThreadedServer.start(
      { port: 0, threads: THREADS, log: (line) => lines.push(line) },
      { workerUrl: new URL("./_support/throwing_worker.ts", import.meta.url) },
    );
  } catch (err) {
    // On a slow machine the worker may fail before the others listen: the start fails.
    assert.match((err as Error).message, failure);
    assert.ok(lines.some((l) => failure.test(l)), lines.join("\n"));
    return;
  }
  await assert.rejects(() => within(server.finished, "the server to stop"), failure);
  assert.ok(lines.some((l) => failure.test(l)), lines.join("\n"));
  await refusedOn(server.port); // no worker listens any more
});

Deno.test("A worker that fails while others are still starting fails the start", async () => {
  const lines: string[] = [];
  await assert.rejects(
    () =>
      within(
        ThreadedServer.start(
          { port: 0, threads: THREADS, log: (line) => lines.push(line) },
          { workerUrl: new URL("./_support/early_throwing_worker.ts", import.meta.url) },
        ),
        "the start to end",
      ),
    /Worker 1 failed: .*Deliberate failure/,
  );
  assert.equal(lines.filter((l) => /Worker 1 failed/.test(l)).length, 1, lines.join("\n"));
});

Deno.test("main.ts exits non-zero with one log line when a worker fails", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      "--allow-read",
      new URL("./hardening/_failing_main.ts", import.meta.url).pathname,
      "-p",
      "0",
      "-t",
      "2",
      "--quiet",
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.notEqual(out.code, 0);
  assert.match(stderr, /^Worker 1 failed: .*Deliberate failure of a test worker\n$/, "one line");
});

Deno.test("-t 4: -S authentication holds in every worker", async () => {
  const path = await Deno.makeTempFile({ prefix: "mbserver-auth-" });
  try {
    await Deno.writeTextFile(path, "alice:s3cret\n");
    await withServer({ sasl: true, authFile: path }, async (server) => {
      const clients = await Promise.all(
        Array.from({ length: CONNECTIONS }, () => RawClient.connect(server.port)),
      );
      try {
        for (const client of clients) {
          await client.send("get k\r\n");
          assert.equal(await client.readLine(), "CLIENT_ERROR unauthenticated\r\n");
          await client.send("set auth 0 0 12\r\nalice s3cret\r\n");
          assert.equal(await client.readLine(), "STORED\r\n");
          await client.send("get k\r\n");
          assert.equal(await client.readLine(), "END\r\n");
        }
        assert.equal(server.stats.totals().auth_cmds, CONNECTIONS);
      } finally {
        for (const client of clients) client.close();
      }
    });
  } finally {
    await Deno.remove(path);
  }
});
