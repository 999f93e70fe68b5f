/**
 * Races between connections that land on different workers of a `-t 4`
 * server: every change under the shared lock, nothing lost, nothing torn.
 */
import assert from "node:assert/strict";
import { type RunningServer, startServer } from "../lib/mod.ts";
import { RawClient } from "./_support/raw_client.ts";

const THREADS = 4;
const CLIENTS = 8;

async function withClients(
  fn: (clients: RawClient[], server: RunningServer) => Promise<void>,
): Promise<void> {
  const server = await startServer({ port: 0, threads: THREADS });
  const clients = await Promise.all(
    Array.from({ length: CLIENTS }, () => RawClient.connect(server.port)),
  );
  try {
    await fn(clients, server);
  } finally {
    for (const client of clients) client.close();
    await server.close();
  }
}

/** One text command and its reply line. */
async function ask(client: RawClient, command: string): Promise<string> {
  await client.send(command);
  return (await client.readLine()).trimEnd();
}

/** The value of `key` (text `get`), or undefined. */
async function value(client: RawClient, key: string): Promise<string | undefined> {
  await client.send(`get ${key}\r\n`);
  const head = await client.readLine();
  if (head === "END\r\n") return undefined;
  const length = Number(head.trimEnd().split(" ")[3]);
  const data = new TextDecoder().decode(await client.readExact(length + 2)).slice(0, -2);
  assert.equal(await client.readLine(), "END\r\n");
  return data;
}

Deno.test("-t 4: gets+cas increments of one counter end at the number of successful CAS", async () => {
  await withClients(async (clients) => {
    assert.equal(await ask(clients[0], "set counter 0 0 1\r\n0\r\n"), "STORED");
    const stored = await Promise.all(clients.map(async (client) => {
      let wins = 0;
      for (let i = 0; i < 150; i++) {
        await client.send("gets counter\r\n");
        const [, , , length, cas] = (await client.readLine()).trimEnd().split(" ");
        const n = Number(new TextDecoder().decode(await client.readExact(Number(length) + 2)));
        assert.equal(await client.readLine(), "END\r\n");
        const next = String(n + 1);
        const reply = await ask(client, `cas counter 0 0 ${next.length} ${cas}\r\n${next}\r\n`);
        if (reply === "STORED") wins++;
        else assert.equal(reply, "EXISTS");
      }
      return wins;
    }));
    const total = stored.reduce((a, b) => a + b, 0);
    assert.equal(Number(await value(clients[0], "counter")), total);
    assert.ok(total < CLIENTS * 150, "some CAS lost a race (the clients did overlap)");
  });
});

Deno.test("-t 4: concurrent incr from every worker totals exactly", async () => {
  await withClients(async (clients) => {
    assert.equal(await ask(clients[0], "set n 0 0 1\r\n0\r\n"), "STORED");
    await Promise.all(clients.map(async (client) => {
      for (let i = 0; i < 250; i++) assert.match(await ask(client, "incr n 1\r\n"), /^\d+$/);
    }));
    assert.equal((await value(clients[0], "n"))?.trim(), String(CLIENTS * 250));
  });
});

Deno.test("-t 4: concurrent appends from every worker are all there, each whole", async () => {
  await withClients(async (clients) => {
    assert.equal(await ask(clients[0], "set list 0 0 0\r\n\r\n"), "STORED");
    await Promise.all(clients.map(async (client, id) => {
      for (let i = 0; i < 150; i++) {
        const part = `c${id}:${i};`;
        assert.equal(await ask(client, `append list 0 0 ${part.length}\r\n${part}\r\n`), "STORED");
      }
    }));
    const parts = (await value(clients[0], "list"))!.split(";").filter((p) => p !== "");
    const want = new Set<string>();
    for (let id = 0; id < CLIENTS; id++) for (let i = 0; i < 150; i++) want.add(`c${id}:${i}`);
    assert.equal(parts.length, want.size);
    assert.deepEqual(new Set(parts), want);
  });
});

Deno.test("-t 4: a 256 KiB value rewritten from several workers is never read torn", async () => {
  await withClients(async (clients) => {
    const size = 256 * 1024;
    const ROUNDS = 60;
    const fill = (byte: number) => String.fromCharCode(byte).repeat(size);
    assert.equal(await ask(clients[0], `set big 0 0 ${size}\r\n${fill(0x41)}\r\n`), "STORED");
    let reads = 0;
    await Promise.all(clients.map(async (client, id) => {
      for (let i = 0; i < ROUNDS; i++) {
        if (id % 2 === 0) {
          const byte = 0x41 + ((id * ROUNDS + i) % 26);
          assert.equal(await ask(client, `set big 0 0 ${size}\r\n${fill(byte)}\r\n`), "STORED");
        } else {
          const data = (await value(client, "big"))!;
          assert.equal(data.length, size);
          assert.ok([...new Set(data)].length === 1, "one byte throughout: not torn");
          reads++;
        }
      }
    }));
    assert.equal(reads, (CLIENTS / 2) * ROUNDS);
  });
});
