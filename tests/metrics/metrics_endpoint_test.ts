/**
 * The metrics endpoint on the wire: what it answers, and that slow, idle,
 * huge and too many clients are cut off without holding up anything else.
 */
import assert from "node:assert/strict";
import { MetricsEndpoint } from "../../lib/metrics/metrics_endpoint.ts";
import { freePort } from "../_support/child_server.ts";
import { RawClient } from "../_support/raw_client.ts";

const PAGE = "# HELP memcached_up Up.\n# TYPE memcached_up gauge\nmemcached_up 1\n";

function endpoint(options: Partial<ConstructorParameters<typeof MetricsEndpoint>[0]> = {}) {
  return new MetricsEndpoint({ hostname: "127.0.0.1", port: 0, render: () => PAGE, ...options });
}

/** Sends `request` and reads until the server closes; the whole reply. */
async function exchange(port: number, request: string): Promise<string> {
  await using client = await RawClient.connect(port);
  await client.send(request);
  assert.equal(await client.closedByPeer(5000), true, "the server closes after its reply");
  return new TextDecoder().decode(client.pending);
}

Deno.test("MetricsEndpoint answers GET /metrics with the page and closes", async () => {
  const metrics = endpoint();
  try {
    const reply = await exchange(metrics.port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    assert.equal(
      reply,
      "HTTP/1.1 200 OK\r\n" +
        "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n" +
        `Content-Length: ${PAGE.length}\r\nConnection: close\r\n\r\n${PAGE}`,
    );
    const res = await fetch(`http://127.0.0.1:${metrics.port}/metrics?x=1`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), PAGE);
  } finally {
    await metrics.close();
  }
});

Deno.test("MetricsEndpoint answers HEAD with the headers only", async () => {
  const metrics = endpoint();
  try {
    const reply = await exchange(metrics.port, "HEAD /metrics HTTP/1.0\r\n\r\n");
    assert.match(reply, new RegExp(`^HTTP/1.1 200 OK\r\n[^]*Content-Length: ${PAGE.length}\r\n`));
    assert.ok(reply.endsWith("Connection: close\r\n\r\n"), reply);
  } finally {
    await metrics.close();
  }
});

Deno.test("MetricsEndpoint answers 404 for other paths, 405 for other methods, 400 for junk", async () => {
  const metrics = endpoint();
  try {
    const status = async (request: string) =>
      (await exchange(metrics.port, request)).split("\r\n")[0];
    assert.equal(await status("GET / HTTP/1.1\r\n\r\n"), "HTTP/1.1 404 Not Found");
    assert.equal(await status("GET /metricsx HTTP/1.1\r\n\r\n"), "HTTP/1.1 404 Not Found");
    const post = await exchange(
      metrics.port,
      "POST /metrics HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello",
    );
    assert.match(post, /^HTTP\/1.1 405 Method Not Allowed\r\n[^]*Allow: GET, HEAD\r\n/);
    assert.equal(
      await status("DELETE /metrics HTTP/1.1\r\n\r\n"),
      "HTTP/1.1 405 Method Not Allowed",
    );
    assert.equal(await status("hello\r\n\r\n"), "HTTP/1.1 400 Bad Request");
    assert.equal(await status("GET /metrics HTTP/2.0\r\n\r\n"), "HTTP/1.1 400 Bad Request");
  } finally {
    await metrics.close();
  }
});

Deno.test("MetricsEndpoint answers 431 to a request head over the limit", async () => {
  const metrics = endpoint({ maxHeaderBytes: 1024 });
  try {
    const big = `GET /metrics HTTP/1.1\r\nX-Filler: ${"a".repeat(2000)}\r\n\r\n`;
    const reply = await exchange(metrics.port, big);
    assert.match(reply, /^HTTP\/1.1 431 Request Header Fields Too Large\r\n/);
    // Just under the limit is fine.
    const fits = `GET /metrics HTTP/1.1\r\nX: ${"a".repeat(900)}\r\n\r\n`;
    assert.match(await exchange(metrics.port, fits), /^HTTP\/1.1 200 OK\r\n/);
  } finally {
    await metrics.close();
  }
});

Deno.test("MetricsEndpoint cuts off idle and slowly trickling clients at its deadline", async () => {
  const metrics = endpoint({ requestTimeoutMs: 300 });
  try {
    await using idle = await RawClient.connect(metrics.port);
    await using slow = await RawClient.connect(metrics.port);
    let stop = false;
    const trickle = (async () => {
      for (const byte of "GET /metrics HTTP/1.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa") {
        if (stop) return;
        try {
          await slow.send(byte);
        } catch {
          return; // cut off
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    assert.equal(await idle.closedByPeer(3000), true, "an idle client is closed");
    assert.equal(await slow.closedByPeer(3000), true, "a trickling client is closed");
    stop = true;
    await trickle;
    assert.equal(idle.pending.length, 0, "no reply to a request never finished");
  } finally {
    await metrics.close();
  }
});

Deno.test("MetricsEndpoint closes connections over its cap at once", async () => {
  const metrics = endpoint({ maxConnections: 2, requestTimeoutMs: 60_000 });
  try {
    await using a = await RawClient.connect(metrics.port);
    await using b = await RawClient.connect(metrics.port);
    while (metrics.connections < 2) await new Promise((r) => setTimeout(r, 5));
    await using c = await RawClient.connect(metrics.port);
    assert.equal(await c.closedByPeer(3000), true, "the third connection is closed");
    // The two held ones still get their answer.
    await a.send("GET /metrics HTTP/1.1\r\n\r\n");
    assert.equal(await a.closedByPeer(3000), true);
    assert.match(new TextDecoder().decode(a.pending), /^HTTP\/1.1 200 OK/);
    b.close();
  } finally {
    await metrics.close();
  }
});

Deno.test("MetricsEndpoint listens only on the address it is given", async () => {
  const metrics = endpoint();
  try {
    await assert.rejects(
      Deno.connect({ hostname: "127.0.0.2", port: metrics.port }),
      Deno.errors.ConnectionRefused,
    );
  } finally {
    await metrics.close();
  }
});

Deno.test("MetricsEndpoint under a slowloris keeps a separate listener answering", async () => {
  // A stand-in for the cache port: answers each line with "ok".
  const cache = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const served = (async () => {
    const conn = await cache.accept();
    const buf = new Uint8Array(64);
    try {
      while ((await conn.read(buf)) !== null) await conn.write(new TextEncoder().encode("ok\n"));
    } finally {
      conn.close();
    }
  })();
  const metrics = endpoint({ requestTimeoutMs: 500, maxConnections: 8 });
  const attackers: RawClient[] = [];
  let stop = false;
  const attack = (async () => {
    while (!stop) {
      try {
        const c = await RawClient.connect(metrics.port);
        attackers.push(c);
        await c.send("GET /metrics HTTP/1.1\r\nX: ");
      } catch {
        // refused or reset: keep going
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  try {
    await using client = await RawClient.connect((cache.addr as Deno.NetAddr).port);
    const started = Date.now();
    for (let i = 0; i < 30; i++) {
      await client.send("ping\n");
      assert.equal(await client.readUntil("\n", 1000), "ok\n");
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(Date.now() - started < 15_000);
    assert.ok(metrics.connections <= 8, `${metrics.connections} connections held`);
    stop = true;
    await attack;
    // Every attacker is cut off by the deadline or the cap.
    for (const c of attackers) assert.equal(await c.closedByPeer(3000), true);
  } finally {
    stop = true;
    await attack;
    for (const c of attackers) c.close();
    await metrics.close();
    cache.close();
    await served;
  }
});

Deno.test("MetricsEndpoint prints nothing of its own", async () => {
  const port = freePort();
  const module = new URL("../../lib/metrics/metrics_endpoint.ts", import.meta.url).href;
  const script = `
    import { MetricsEndpoint } from ${JSON.stringify(module)};
    const e = new MetricsEndpoint({ hostname: "127.0.0.1", port: ${port}, render: () => {
      setTimeout(() => e.close(), 50);
      return "x 1\\n";
    } });`;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", "--no-check", script],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let reply = "";
  for (let attempt = 0; attempt < 200 && reply === ""; attempt++) {
    try {
      reply = await exchange(port, "GET /metrics HTTP/1.1\r\n\r\n");
    } catch {
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  const out = await child.output();
  assert.match(reply, /^HTTP\/1.1 200 OK/);
  assert.equal(new TextDecoder().decode(out.stdout), "");
  assert.equal(new TextDecoder().decode(out.stderr), "");
  assert.equal(out.success, true);
});
