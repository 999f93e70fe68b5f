import assert from "node:assert/strict";
import { startServer } from "../../lib/mod.ts";
import { THREADS } from "../_support/threads.ts";
import { MEMCCAPABLE, testWithTools } from "../_support/tools.ts";

for (const threads of THREADS) {
  testWithTools(
    `memccapable -b passes every binary protocol test (-t ${threads})`,
    [MEMCCAPABLE],
    async () => {
      const server = await startServer({ port: 0, threads });
      try {
        const out = await new Deno.Command("memccapable", {
          args: ["-b", "-h", "127.0.0.1", "-p", String(server.port)],
          stdout: "piped",
          stderr: "piped",
        }).output();
        const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
        const results = text.split("\n").filter((line) => /^binary .*\[\w+\]\s*$/.test(line));
        assert.ok(results.length >= 25, `expected memccapable's binary tests, got:\n${text}`);
        const notPassed = results.filter((line) => !line.endsWith("[pass]"));
        assert.deepEqual(notPassed, [], text);
        assert.match(text, /All tests passed/);
        assert.equal(out.code, 0, text);
      } finally {
        await server.close();
      }
    },
  );
}
