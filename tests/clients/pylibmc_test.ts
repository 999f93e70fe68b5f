import assert from "node:assert/strict";
import { startServer } from "../../lib/mod.ts";
import { THREADS } from "../_support/threads.ts";
import { startMemcached } from "../_support/memcached.ts";
import { MEMCACHED, PYLIBMC, testWithTools } from "../_support/tools.ts";

const SCRIPT = new URL("./pylibmc_client.py", import.meta.url).pathname;

/** Runs the pylibmc script (binary mode) against 127.0.0.1:port; asserts it prints OK. */
async function runScript(port: number): Promise<void> {
  const out = await new Deno.Command(PYLIBMC.command, {
    args: [SCRIPT, String(port)],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, `pylibmc script failed:\n${stdout}\n${stderr}`);
  assert.equal(stdout.trim(), "OK");
}

for (const threads of THREADS) {
  testWithTools(
    `pylibmc (binary=True) set/get/delete, incr/decr, append/prepend, touch, get_multi/set_multi, cas (-t ${threads})`,
    [PYLIBMC],
    async () => {
      const server = await startServer({ port: 0, threads });
      try {
        await runScript(server.port);
      } finally {
        await server.close();
      }
    },
  );
}

testWithTools(
  "pylibmc script's expectations hold against real memcached too",
  [PYLIBMC, MEMCACHED],
  async () => {
    await using memcached = await startMemcached();
    await runScript(memcached.port);
  },
);
