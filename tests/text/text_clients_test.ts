/**
 * Real text protocol clients against our server: memccapable (its ASCII and
 * binary suites), pymemcache, and the npm `memcache-client` (pinned).
 */
import assert from "node:assert/strict";
import { MemcacheClient } from "npm:memcache-client@1.0.5";
import { startServer } from "../../lib/mod.ts";
import { THREADS } from "../_support/threads.ts";
import { MEMCCAPABLE, PYMEMCACHE, testWithTools } from "../_support/tools.ts";

async function memccapable(port: number, args: string[]): Promise<string> {
  const out = await new Deno.Command("memccapable", {
    args: [...args, "-h", "127.0.0.1", "-p", String(port)],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, text);
  return text;
}

for (const threads of THREADS) {
  testWithTools(
    `memccapable passes every ASCII (and binary) test (-t ${threads})`,
    [MEMCCAPABLE],
    async () => {
      const server = await startServer({ port: 0, threads });
      try {
        const text = await memccapable(server.port, []);
        const results = text.split("\n").filter((line) =>
          /^(ascii|binary) .*\[\w+\]\s*$/.test(line)
        );
        const ascii = results.filter((line) => line.startsWith("ascii "));
        assert.ok(ascii.length >= 25, `expected memccapable's ASCII tests, got:\n${text}`);
        assert.deepEqual(results.filter((line) => !line.endsWith("[pass]")), [], text);
        assert.match(text, /All tests passed/);
        // And the binary suite still passes on the same server.
        assert.match(await memccapable(server.port, ["-b"]), /All tests passed/);
      } finally {
        await server.close();
      }
    },
  );
}

for (const threads of THREADS) {
  testWithTools(
    `pymemcache round trips every text command it has (-t ${threads})`,
    [PYMEMCACHE],
    async () => {
      const server = await startServer({ port: 0, threads });
      try {
        const script = new URL("./pymemcache_client.py", import.meta.url).pathname;
        const out = await new Deno.Command("/usr/bin/python3", {
          args: [script, "127.0.0.1", String(server.port)],
          stdout: "piped",
          stderr: "piped",
        }).output();
        const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
        assert.equal(out.code, 0, text);
        assert.equal(text.trim(), "ok");
      } finally {
        await server.close();
      }
    },
  );
}

Deno.test("npm memcache-client round trips over the text protocol", async () => {
  const server = await startServer({ port: 0 });
  const client = new MemcacheClient({ server: `127.0.0.1:${server.port}` });
  try {
    assert.deepEqual(await client.set("a", "hello"), ["STORED"]);
    assert.equal((await client.get<string>("a"))?.value, "hello");
    assert.equal(await client.get("nope"), undefined);
    assert.deepEqual(await client.add("a", "x").catch((e: Error) => e.message), "NOT_STORED");
    assert.deepEqual(await client.append("a", " world"), ["STORED"]);
    assert.deepEqual(await client.prepend("a", ">"), ["STORED"]);
    const many = await client.get<string>(["a", "nope"]) as unknown as Record<
      string,
      { value: string }
    >;
    assert.deepEqual(Object.keys(many), ["a"]);
    assert.equal(many.a.value, ">hello world");
    const gets = await client.gets<string>("a");
    assert.match(String(gets?.casUniq), /^\d+$/);
    assert.deepEqual(await client.cas("a", "swapped", { casUniq: gets!.casUniq! }), ["STORED"]);
    assert.equal(
      await client.cas("a", "again", { casUniq: gets!.casUniq! }).catch((e: Error) => e.message),
      "EXISTS",
    );
    assert.equal((await client.get<string>("a"))?.value, "swapped");
    assert.deepEqual(await client.set("n", "10"), ["STORED"]);
    assert.equal(await client.incr("n", 5), "15");
    assert.equal(await client.decr("n", 20), "0");
    assert.deepEqual(await client.touch("n", "100"), ["TOUCHED"]);
    assert.deepEqual(await client.delete("n"), ["DELETED"]);
    assert.equal(await client.get("n"), undefined);
    const version = await client.version();
    assert.match(version[1], /^1\.6/);
  } finally {
    client.shutdown();
    await server.close();
  }
});
