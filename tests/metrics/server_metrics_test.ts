/**
 * `-o metrics_port`: the server's own Prometheus endpoint, on the wire. The
 * page passes promtool, carries the values the commands caused (with
 * memcached_exporter's names), times every request by command, counts
 * connections by protocol; a real Prometheus scrapes it; a slowloris
 * against it leaves the cache port answering.
 */
import assert from "node:assert/strict";
import { startServer } from "../../lib/mod.ts";
import { startMain } from "../hardening/_main_process.ts";
import { startPrometheus } from "../_support/prometheus.ts";
import { binaryRequest, RawClient, words } from "../_support/raw_client.ts";
import { PROMETHEUS, PROMTOOL, testWithTools } from "../_support/tools.ts";
import { promtoolCheck } from "./_promtool.ts";
import { samples } from "./_samples.ts";

async function scrape(port: number, hostname = "127.0.0.1"): Promise<string> {
  const res = await fetch(`http://${hostname}:${port}/metrics`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  return await res.text();
}

/** Two gets that hit, one that misses, two sets, over text; a set and a get over binary. */
async function traffic(port: number): Promise<void> {
  await using text = await RawClient.connect(port);
  await text.send("set a 0 0 1\r\n1\r\nset b 0 0 1\r\n2\r\nget a\r\nget b\r\nget nope\r\n");
  await text.readUntil("2\r\nEND\r\nEND\r\n");
  await using binary = await RawClient.connect(port);
  await binary.send(binaryRequest({ opcode: 0x01, key: "c", extras: words(0, 0), value: "3" }));
  await binary.readBinary();
  await binary.send(binaryRequest({ opcode: 0x00, key: "c" }));
  await binary.readBinary();
}

testWithTools("The metrics page passes promtool and carries what the commands did", [
  PROMTOOL,
], async () => {
  const server = await startServer({ port: 0, metricsPort: 0 });
  try {
    assert.notEqual(server.metricsPort, undefined);
    await traffic(server.port);
    // The server notices the clients' close on its own time: wait for it.
    let page = await scrape(server.metricsPort!);
    for (let i = 0; i < 100 && !/^memcached_current_connections 0$/m.test(page); i++) {
      await new Promise((r) => setTimeout(r, 20));
      page = await scrape(server.metricsPort!);
    }
    assert.deepEqual(await promtoolCheck(page), { ok: true, output: "" });
    const s = samples(page);
    const expected: [string, string][] = [
      ["memcached_up", "1"],
      ["memcached_current_items", "3"],
      ["memcached_items_total", "3"],
      ["memcached_current_bytes", String(3 * 61)],
      ["memcached_limit_bytes", String(64 * 1024 * 1024)],
      ["memcached_max_connections", "1024"],
      ['memcached_commands_total{command="get",status="hit"}', "3"],
      ['memcached_commands_total{command="get",status="miss"}', "1"],
      ['memcached_commands_total{command="set",status="hit"}', "3"],
      // The listening socket counts, as memcached's total_connections.
      ["memcached_connections_total", "3"],
      ["memcached_current_connections", "0"],
      ['mbserver_connections_total{protocol="text"}', "1"],
      ['mbserver_connections_total{protocol="binary"}', "1"],
      ['mbserver_current_connections{protocol="binary"}', "0"],
      // Requests timed by command: text `get` lines and binary GETs alike.
      ['mbserver_command_duration_seconds_count{command="get"}', "4"],
      ['mbserver_command_duration_seconds_count{command="set"}', "3"],
      ['mbserver_command_duration_seconds_count{command="delete"}', "0"],
    ];
    for (const [name, value] of expected) assert.equal(s.get(name), value, name);
    assert.match(s.get('memcached_version{version="1.6.18-mbserver-0.1.0"}') ?? "", /^1$/);
    assert.ok(Number(s.get('mbserver_command_duration_seconds_sum{command="get"}')) > 0);
    assert.equal(
      s.get('mbserver_command_duration_seconds_bucket{command="get",le="+Inf"}'),
      "4",
    );
  } finally {
    await server.close();
  }
});

Deno.test("Without metricsPort there is no metrics endpoint", async () => {
  const server = await startServer({ port: 0 });
  try {
    assert.equal(server.metricsPort, undefined);
  } finally {
    await server.close();
  }
});

Deno.test("main.ts -o metrics_port serves /metrics on the -l address only", async () => {
  // Port 0, read back from the start-up line: a port picked free beforehand may be taken by the
  // time the server binds it (seen once in CI: the server could not listen, the scrape was refused).
  await using main = await startMain(["-l", "127.0.0.1", "-o", "metrics_port=0"]);
  const bound = await main.stderrMatch(/metrics on http:\/\/127\.0\.0\.1:(\d+)\/metrics/);
  const metricsPort = Number(bound[1]);
  const page = await scrape(metricsPort);
  assert.match(page, /^memcached_up 1$/m);
  await assert.rejects(
    Deno.connect({ hostname: "127.0.0.2", port: metricsPort }),
    Deno.errors.ConnectionRefused,
  );
  const res = await fetch(`http://127.0.0.1:${metricsPort}/`);
  assert.equal(res.status, 404);
  await res.body?.cancel();
});

Deno.test("A slowloris on the metrics port leaves the cache port answering", async () => {
  const server = await startServer({ port: 0, metricsPort: 0 });
  const attackers: RawClient[] = [];
  try {
    // More slow clients than the endpoint serves at once, each sending half a request head.
    for (let i = 0; i < 40; i++) {
      const c = await RawClient.connect(server.metricsPort!);
      attackers.push(c);
      await c.send("GET /metrics HTTP/1.1\r\nX-Slow: ").catch(() => {});
    }
    await using client = await RawClient.connect(server.port);
    for (let i = 0; i < 20; i++) {
      await client.send(`set k${i} 0 0 1\r\nx\r\nget k${i}\r\n`);
      assert.equal(
        await client.readUntil("END\r\n", 2000),
        `STORED\r\nVALUE k${i} 0 1\r\nx\r\nEND\r\n`,
      );
    }
    // The endpoint cuts every slow client off (its deadline or its connection cap).
    for (const c of attackers) assert.equal(await c.closedByPeer(10_000), true);
    assert.match(await scrape(server.metricsPort!), /^memcached_current_items 20$/m);
  } finally {
    for (const c of attackers) c.close();
    await server.close();
  }
});

testWithTools("A real Prometheus scraping the server sees its items, hits and misses", [
  PROMETHEUS,
], async () => {
  const server = await startServer({ port: 0, metricsPort: 0 });
  try {
    await traffic(server.port);
    await using prometheus = await startPrometheus([`127.0.0.1:${server.metricsPort}`]);
    await prometheus.waitFor("memcached_current_items", "3");
    await prometheus.waitFor('memcached_commands_total{command="get",status="hit"}', "3");
    await prometheus.waitFor('memcached_commands_total{command="get",status="miss"}', "1");
    await using client = await RawClient.connect(server.port);
    await client.send("get nope1 nope2\r\ndelete a\r\n");
    await client.readUntil("DELETED\r\n");
    await prometheus.waitFor('memcached_commands_total{command="get",status="miss"}', "3");
    await prometheus.waitFor("memcached_current_items", "2");
    await prometheus.waitFor(
      'sum(mbserver_command_duration_seconds_count{command="get"})',
      "5",
    );
  } finally {
    await server.close();
  }
});

testWithTools("With -e the metrics page reports the snapshots, and still passes promtool", [
  PROMTOOL,
], async () => {
  const dir = await Deno.makeTempDir({ prefix: "mbserver-metrics-snapshot-" });
  let now = 1_700_000_000_000;
  const options = { port: 0, metricsPort: 0, memoryFile: `${dir}/cache`, clock: () => now };
  try {
    const first = await startServer(options);
    await traffic(first.port);
    await first.close(); // writes the snapshot
    const server = await startServer(options);
    try {
      now += 5000;
      const report = await server.snapshotter!.snapshot();
      const page = await scrape(server.metricsPort!);
      assert.deepEqual(await promtoolCheck(page), { ok: true, output: "" });
      const s = samples(page);
      assert.equal(s.get("mbserver_snapshot_in_progress"), "0");
      assert.equal(s.get("mbserver_snapshot_last_items"), "3");
      assert.equal(s.get("mbserver_snapshot_last_size_bytes"), String(report!.bytes));
      assert.equal(s.get("mbserver_snapshot_last_success_timestamp_seconds"), "1700000005");
      assert.match(s.get("mbserver_snapshot_last_duration_seconds")!, /^\d+(\.\d+)?(e-\d+)?$/);
      assert.equal(s.get("mbserver_snapshot_failures_total"), "0");
    } finally {
      await server.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Without -e the metrics page has no snapshot figures", async () => {
  const server = await startServer({ port: 0, metricsPort: 0 });
  try {
    assert.doesNotMatch(await scrape(server.metricsPort!), /mbserver_snapshot/);
  } finally {
    await server.close();
  }
});
