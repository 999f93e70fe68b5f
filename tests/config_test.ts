import assert from "node:assert/strict";
import {
  FlagError,
  hostPort,
  neededPermissions,
  parseFlags,
  type ServerOptions,
  VERSION,
} from "../lib/config.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;

function serve(args: string[]): ServerOptions {
  const cli = parseFlags(args);
  assert.equal(cli.action, "serve");
  return cli.action === "serve" ? cli.options : {};
}

Deno.test("parseFlags reads memcached's short and long flags", () => {
  assert.deepEqual(serve(["-p", "11311", "-l", "0.0.0.0", "-m", "128", "-c", "10"]), {
    port: 11311,
    hostname: "0.0.0.0",
    memoryLimitMiB: 128,
    maxConnections: 10,
  });
  assert.deepEqual(
    serve(["--port=1", "--listen=::1", "--memory-limit=2", "--conn-limit=3"]),
    { port: 1, hostname: "::1", memoryLimitMiB: 2, maxConnections: 3 },
  );
  assert.deepEqual(serve(["-p11311"]), { port: 11311 });
});

Deno.test("parseFlags reads -t N, --threads=N and -t auto (every core)", () => {
  assert.deepEqual(serve(["-t", "4"]), { threads: 4 });
  assert.deepEqual(serve(["--threads=256"]), { threads: 256 });
  assert.deepEqual(serve(["-t", "auto"]), { threads: navigator.hardwareConcurrency });
  assert.deepEqual(serve(["-t", "1"]), { threads: 1 });
});

Deno.test("parseFlags leaves defaults to the server: no flags, no options", () => {
  assert.deepEqual(serve([]), {});
});

Deno.test("parseFlags reads -I with k and m suffixes", () => {
  assert.equal(serve(["-I", "1m"]).maxItemSize, 1024 * 1024);
  assert.equal(serve(["-I", "512k"]).maxItemSize, 512 * 1024);
  assert.equal(serve(["-I", "2M"]).maxItemSize, 2 * 1024 * 1024);
  assert.equal(serve(["--max-item-size=4096"]).maxItemSize, 4096);
});

Deno.test("parseFlags reads -b / --listen-backlog as memcached does", () => {
  assert.equal(serve(["-b", "4096"]).listenBacklog, 4096);
  assert.equal(serve(["--listen-backlog=64"]).listenBacklog, 64);
  assert.throws(() => parseFlags(["-b", "0"]), /Option -b must be between 1 and/);
  assert.throws(() => parseFlags(["-b", "many"]), /Option -b needs a whole number/);
});

Deno.test("parseFlags counts -v and -vv", () => {
  assert.equal(serve(["-v"]).verbose, 1);
  assert.equal(serve(["-vv"]).verbose, 2);
  assert.equal(serve(["-v", "-v"]).verbose, 2);
  assert.equal(serve([]).verbose, undefined);
});

Deno.test("parseFlags reads --quiet apart from the server's options", () => {
  assert.deepEqual(parseFlags(["--quiet", "-p", "0"]), {
    action: "serve",
    options: { port: 0 },
    quiet: true,
  });
  assert.deepEqual(parseFlags([]), { action: "serve", options: {}, quiet: false });
});

Deno.test("parseFlags reads the slab and stats flags: -f, -n, -D, -X, -R and -o", () => {
  assert.deepEqual(
    serve([
      "-f",
      "1.5",
      "-n",
      "100",
      "-D",
      "/",
      "-X",
      "-R",
      "7",
      "-I",
      "2m",
      "-o",
      "slab_chunk_max=131072,metrics_port=9150,no_lru_maintainer,no_lru_crawler",
    ]),
    {
      growthFactor: 1.5,
      minSpace: 100,
      prefixDelimiter: "/",
      disableDumping: true,
      reqsPerEvent: 7,
      maxItemSize: 2 * 1024 * 1024,
      slabChunkMax: 131072,
      metricsPort: 9150,
    },
  );
  assert.deepEqual(serve(["--slab-growth-factor=2", "--slab-min-size=5"]), {
    growthFactor: 2,
    minSpace: 5,
  });
  // memcached takes slab_chunk_max up to a whole page (1 MiB) when -I allows it.
  assert.equal(serve(["-o", "slab_chunk_max=1048576"]).slabChunkMax, 1048576);
});

Deno.test("parseFlags refuses slab settings memcached refuses", () => {
  const refuses = (args: string[], message: RegExp) =>
    assert.throws(
      () => parseFlags(args),
      (err) => err instanceof FlagError && message.test(err.message),
    );
  refuses(["-f", "1"], /^Option -f needs a factor greater than 1, got "1"$/);
  refuses(["-f", "x"], /^Option -f needs a factor greater than 1, got "x"$/);
  refuses(["-n", "0"], /^Option -n must be between 1 and 1048576, got 0$/);
  refuses(["-D", "ab"], /^Option -D needs one character, got "ab"$/);
  refuses(
    ["-I", "64k", "-o", "slab_chunk_max=131072"],
    /^Option -o slab_chunk_max \(131072\) cannot be larger than -I \(65536\)$/,
  );
  refuses(["-o", "slab_chunk_max=1000"], /must divide -I \(1048576\) and 1048576 evenly/);
  refuses(["-o", "metrics_port=x"], /^Option -o metrics_port needs a whole number, got "x"$/);
});

Deno.test("parseFlags refuses -S without -Y: every client would be refused", () => {
  assert.throws(
    () => parseFlags(["-S"]),
    new FlagError("Option -S needs -Y FILE: without it every client would be refused"),
  );
  assert.deepEqual(serve(["-S", "-Y", "auth.txt"]), { sasl: true, authFile: "auth.txt" });
});

Deno.test("neededPermissions lists the listen address and every file a flag names", () => {
  assert.deepEqual(neededPermissions({}), { listen: "127.0.0.1:11211", read: [] });
  assert.deepEqual(
    neededPermissions(serve([
      "-l",
      "::1",
      "-p",
      "0",
      "-S",
      "-Y",
      "a.txt",
      "-Z",
      "-o",
      "ssl_chain_cert=c.pem,ssl_key=k.pem",
    ])),
    {
      listen: "[::1]:0",
      read: [
        { flag: "-Y", path: "a.txt" },
        { flag: "-o ssl_chain_cert", path: "c.pem" },
        { flag: "-o ssl_key", path: "k.pem" },
      ],
    },
  );
  // Without -Z the server reads no certificate, so none needs permission.
  assert.deepEqual(neededPermissions(serve(["-o", "ssl_chain_cert=c.pem"])).read, []);
  // Workers start from the bundled code in memory: -t over 1 reads no file.
  assert.deepEqual(neededPermissions(serve(["-t", "2"])).read, []);
  assert.equal(hostPort("127.0.0.1", 1), "127.0.0.1:1");
});

Deno.test("parseFlags answers -V/--version and -h/--help", () => {
  assert.deepEqual(parseFlags(["-V"]), { action: "version" });
  assert.deepEqual(parseFlags(["--version"]), { action: "version" });
  assert.deepEqual(parseFlags(["-h"]), { action: "help" });
  assert.deepEqual(parseFlags(["--help", "-p", "1"]), { action: "help" });
});

Deno.test("parseFlags takes the original server's positional HOST:PORT", () => {
  assert.deepEqual(serve(["127.0.0.2:11500"]), { hostname: "127.0.0.2", port: 11500 });
  assert.deepEqual(serve(["[::1]:11500"]), { hostname: "::1", port: 11500 });
  assert.deepEqual(serve([":11500"]), { port: 11500 });
  assert.deepEqual(serve(["127.0.0.2:11500", "-p", "1"]), { hostname: "127.0.0.2", port: 1 });
});

Deno.test("parseFlags rejects bad flags and values with one clear message", () => {
  const bad: [string[], RegExp][] = [
    [["--bogus"], /bogus/],
    [["-x"], /-x/],
    [["-p", "abc"], /-p.*whole number.*abc/],
    [["-p", "70000"], /-p.*between 0 and 65535/],
    [["-p"], /-p|port/],
    [["-m", "0"], /-m/],
    [["-c", "-5"], /-c/],
    [["-I", "1g"], /-I.*1m or 512k/],
    [["-I", "10"], /-I.*at least 1k/],
    [["-I", "64m", "-m", "64"], /-I.*1\/2 of memory/],
    [["localhost"], /HOST:PORT/],
    [["a:1", "b:2"], /at most one HOST:PORT/],
    [["-l", ""], /-l/],
    [["-t", "0"], /-t.*between 1 and 256/],
    [["-t", "abc"], /-t.*whole number/],
    [["-t", "257"], /-t.*between 1 and 256/],
  ];
  for (const [args, message] of bad) {
    assert.throws(() => parseFlags(args), (err: Error) => {
      assert.ok(err instanceof FlagError, `${args.join(" ")} throws a FlagError`);
      assert.match(err.message, message, args.join(" "));
      assert.ok(!err.message.includes("\n"), "one line");
      return true;
    });
  }
});

/** Runs main.ts with `args`; returns its exit code and output. */
async function runMain(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net", MAIN, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // A main.ts that starts a server instead of refusing is stopped, and fails below.
  const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
  const out = await child.output();
  clearTimeout(timer);
  const decoder = new TextDecoder();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

Deno.test("main.ts exits 64 with one line on stderr for a bad flag, starting nothing", async () => {
  const cases = [["--bogus"], ["-p", "nope"], ["-I", "huge"], ["x:y:z"], ["-t", "0"], [
    "-t",
    "abc",
  ], ["-t", "300"]];
  for (const args of cases) {
    const { code, stdout, stderr } = await runMain(args);
    assert.equal(code, 64, args.join(" "));
    assert.equal(stdout, "");
    const lines = stderr.trimEnd().split("\n");
    assert.equal(lines.length, 1, `one line for ${args.join(" ")}: ${stderr}`);
    assert.match(lines[0], /^mbserver: /);
  }
});

Deno.test("main.ts prints its version and help and exits 0", async () => {
  const version = await runMain(["-V"]);
  assert.equal(version.code, 0);
  assert.equal(version.stdout.trim(), `mbserver ${VERSION}`);
  const help = await runMain(["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /-p, --port/);
  assert.match(help.stdout, /127\.0\.0\.1/);
});

Deno.test("parseFlags reads -e/--memory-file and -o snapshot_interval; -e needs its directory", () => {
  assert.deepEqual(serve(["-e", "/var/lib/mb/cache", "-o", "snapshot_interval=300"]), {
    memoryFile: "/var/lib/mb/cache",
    snapshotInterval: 300,
  });
  assert.deepEqual(serve(["--memory-file=cache"]), { memoryFile: "cache" });
  assert.throws(() => parseFlags(["-e", ""]), new FlagError("Option -e needs a file"));
  assert.throws(
    () => parseFlags(["-o", "snapshot_interval=5"]),
    new FlagError("Option -o snapshot_interval needs -e FILE"),
  );
  assert.throws(
    () => parseFlags(["-e", "c", "-o", "snapshot_interval=soon"]),
    new FlagError('Option -o snapshot_interval needs a whole number, got "soon"'),
  );
  assert.deepEqual(neededPermissions(serve(["-p", "0", "-e", "/var/lib/mb/cache"])), {
    listen: "127.0.0.1:0",
    read: [{ flag: "-e", path: "/var/lib/mb" }],
    write: [{ flag: "-e", path: "/var/lib/mb" }],
  });
});
