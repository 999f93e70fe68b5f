import assert from "node:assert/strict";
import { VERSION } from "../lib/config.ts";
import { startupLine } from "../lib/startup_line.ts";

Deno.test("startupLine reports the server's defaults when no flag is given", () => {
  assert.equal(
    startupLine({ options: {}, hostname: "127.0.0.1", port: 11211 }),
    `mbserver ${VERSION} listening on 127.0.0.1:11211 with -m 64 -c 1024 -I 1m; ` +
      "binary, text and meta protocols; TLS off; SASL off",
  );
});

Deno.test("startupLine brackets an IPv6 address and spells -I as -I takes it", () => {
  const line = (maxItemSize: number) =>
    startupLine({ options: { maxItemSize }, hostname: "::1", port: 5 });
  assert.match(line(2 * 1024 * 1024), / on \[::1\]:5 with -m 64 -c 1024 -I 2m;/);
  assert.match(line(1536 * 1024), / -I 1536k;/);
  assert.match(line(1000), / -I 1000;/);
});

Deno.test("startupLine gives the metrics endpoint's address", () => {
  assert.match(
    startupLine({ options: {}, hostname: "127.0.0.1", port: 1, metricsPort: 9150 }),
    /; metrics on http:\/\/127\.0\.0\.1:9150\/metrics \(no authentication\)$/,
  );
});

Deno.test("startupLine names TLS, SASL, -M and -A when they are on", () => {
  assert.match(
    startupLine({
      options: { tls: true, sasl: true, noEvict: true, enableShutdown: true },
      hostname: "0.0.0.0",
      port: 1,
    }),
    /; TLS on; SASL on; -M \(no evictions\); -A \(shutdown command on\)$/,
  );
});
