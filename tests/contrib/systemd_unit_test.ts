/**
 * contrib/mbserver.service: `systemd-analyze verify` accepts it without a
 * warning, and it keeps the settings the service depends on.
 *
 * `verify` checks that ExecStart's program exists. The unit names
 * /usr/bin/deno (where Debian's package and most installs put it); CI may
 * install Deno elsewhere, so the test verifies a copy whose ExecStart names
 * the Deno running the test (`Deno.execPath()`), the one thing it changes.
 */
import assert from "node:assert/strict";
import { freePort, stop, waitForPort } from "../_support/child_server.ts";
import { RawClient } from "../_support/raw_client.ts";
import { SYSTEMD_ANALYZE, testWithTools } from "../_support/tools.ts";

const UNIT = new URL("../../contrib/mbserver.service", import.meta.url);
const MAIN = new URL("../../main.ts", import.meta.url).pathname;

/** The unit's settings as `Key` → values (continuation lines joined). */
function settings(text: string): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const line of text.replace(/\\\n\s*/g, "").split("\n")) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (m) map.set(m[1], [...(map.get(m[1]) ?? []), m[2]]);
  }
  return map;
}

async function analyze(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(SYSTEMD_ANALYZE.command, {
    args,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

/** Writes the unit, its ExecStart pointing at this Deno, into a temporary directory. */
async function withUnitCopy(fn: (path: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "mbserver-unit-" });
  try {
    const text = (await Deno.readTextFile(UNIT)).replace(
      "ExecStart=/usr/bin/deno ",
      `ExecStart=${Deno.execPath()} `,
    );
    await Deno.writeTextFile(`${dir}/mbserver.service`, text);
    await fn(`${dir}/mbserver.service`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

testWithTools("systemd-analyze verify accepts contrib/mbserver.service, no warning", [
  SYSTEMD_ANALYZE,
], async () => {
  await withUnitCopy(async (path) => {
    const { code, stdout, stderr } = await analyze(["verify", path]);
    assert.equal(code, 0, stderr);
    assert.equal(stdout + stderr, "");
  });
});

testWithTools("systemd-analyze security rates contrib/mbserver.service's sandbox OK or better", [
  SYSTEMD_ANALYZE,
], async () => {
  await withUnitCopy(async (path) => {
    const { code, stdout, stderr } = await analyze(["security", "--offline=yes", path]);
    assert.equal(code, 0, stderr);
    const m = /Overall exposure level for mbserver\.service: ([\d.]+) (\S+)/.exec(stdout);
    assert.ok(m, stdout);
    assert.ok(Number(m[1]) <= 4.0, m[0]);
  });
});

Deno.test("contrib/mbserver.service: EnvironmentFile flags, own user, SIGTERM, timeouts, -e in its state directory", async () => {
  const unit = settings(await Deno.readTextFile(UNIT));
  const one = (key: string) => {
    assert.equal(unit.get(key)?.length, 1, `${key}= once`);
    return unit.get(key)![0];
  };
  assert.equal(one("EnvironmentFile"), "-/etc/default/mbserver");
  assert.equal(one("DynamicUser"), "yes");
  assert.equal(one("User"), "mbserver");
  assert.equal(one("KillSignal"), "SIGTERM");
  assert.ok(Number(one("TimeoutStartSec")) >= 300);
  assert.ok(Number(one("TimeoutStopSec")) >= 300);
  assert.equal(one("StateDirectory"), "mbserver");
  assert.equal(unit.has("MemoryDenyWriteExecute"), false, "Deno aborts under it");
  const exec = one("ExecStart").split(/\s+/);
  assert.ok(exec.includes("--allow-read=%S/mbserver"), exec.join(" "));
  assert.ok(exec.includes("--allow-write=%S/mbserver"), exec.join(" "));
  assert.deepEqual(exec.slice(exec.indexOf("-e"), exec.indexOf("-e") + 2), [
    "-e",
    "%S/mbserver/cache.snapshot",
  ]);
  for (const variable of ["${LISTEN}", "${PORT}", "${CACHESIZE}", "${MAXCONN}", "$OPTIONS"]) {
    assert.ok(exec.includes(variable), `ExecStart uses ${variable}`);
  }
  const env = await Deno.readTextFile(new URL("../../contrib/mbserver.env", import.meta.url));
  for (const name of ["PORT", "LISTEN", "CACHESIZE", "MAXCONN", "OPTIONS"]) {
    assert.match(env, new RegExp(`^${name}=`, "m"), `mbserver.env sets ${name}`);
  }
});

Deno.test("contrib/mbserver.service's ExecStart, expanded as systemd would, serves and snapshots on SIGTERM", async () => {
  const unit = settings(await Deno.readTextFile(UNIT));
  const state = await Deno.makeTempDir({ prefix: "mbserver-unit-state-" });
  try {
    await Deno.mkdir(`${state}/mbserver`); // StateDirectory=mbserver
    const port = freePort();
    // Environment= defaults, as EnvironmentFile would set them.
    const env = new Map(
      unit.get("Environment")![0].split(/\s+/).map((kv) => kv.split("=", 2) as [string, string]),
    );
    env.set("PORT", String(port));
    const words = unit.get("ExecStart")![0].split(/\s+/).flatMap((word) => {
      if (word === "$OPTIONS") return env.get("OPTIONS")!.split(/\s+/).filter((w) => w !== "");
      return [
        word.replace(/\$\{(\w+)\}/g, (_, name) => env.get(name)!).replaceAll("%S", state)
          .replace("/opt/mbserver/main.ts", MAIN).replace(/^\/usr\/bin\/deno$/, Deno.execPath()),
      ];
    });
    const child = new Deno.Command(words[0], {
      args: words.slice(1),
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const stderr = new Response(child.stderr).text();
    await waitForPort(port, child, "the unit's ExecStart", 15_000, () => stderr);
    await using client = await RawClient.connect(port);
    await client.send("set k 0 0 1\r\nv\r\n");
    assert.equal(await client.readLine(), "STORED\r\n");
    await stop(child, "SIGTERM");
    assert.equal((await child.status).code, 0, await stderr);
    assert.ok((await Deno.stat(`${state}/mbserver/cache.snapshot`)).size > 80);
  } finally {
    await Deno.remove(state, { recursive: true });
  }
});
