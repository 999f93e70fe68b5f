/**
 * `main.ts` as a user meets it: the start-up line, and the refusals that must
 * be one line and an exit status, never a question (also on a terminal).
 */
import assert from "node:assert/strict";
import { VERSION } from "../lib/config.ts";
import { freePort, stop } from "./_support/child_server.ts";
import { RawClient } from "./_support/raw_client.ts";
import { startMain } from "./hardening/_main_process.ts";
import { selfSigned } from "./_support/self_signed.ts";
import { OPENSSL, SCRIPT, testWithTools } from "./_support/tools.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;
/** Longest a refusal or a start-up may take; past it the child is killed and the test fails. */
const TIMEOUT_MS = 15_000;

/** A temporary auth file, removed on dispose. */
async function authFile(): Promise<{ path: string } & AsyncDisposable> {
  const path = await Deno.makeTempFile({ prefix: "mbserver-auth-" });
  await Deno.writeTextFile(path, "alice:s3cret\n");
  return { path, [Symbol.asyncDispose]: () => Deno.remove(path) };
}

/** Runs `deno run <denoFlags> main.ts <args>` to its end; stdin answers nothing. */
async function runMain(denoFlags: string[], args: string[]) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...denoFlags, MAIN, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), TIMEOUT_MS);
  const out = await child.output();
  clearTimeout(timer);
  const decoder = new TextDecoder();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

/** Asserts main.ts exits with `code` and says exactly `line` on stderr, nothing else. */
async function assertRefusal(denoFlags: string[], args: string[], code: number, line: string) {
  const run = await runMain(denoFlags, args);
  const what = `deno run ${denoFlags.join(" ")} main.ts ${args.join(" ")}`;
  assert.equal(run.stderr, `${line}\n`, what);
  assert.equal(run.stdout, "", what);
  assert.equal(run.code, code, what);
}

/** Quotes `word` for `sh -c`. */
function shellQuote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/**
 * Runs main.ts under a pseudo terminal (`script`), stdin answering nothing:
 * Deno would prompt there for a missing permission and wait forever.
 */
async function runMainOnTerminal(denoFlags: string[], args: string[]) {
  const command = [Deno.execPath(), "run", ...denoFlags, MAIN, ...args].map(shellQuote).join(" ");
  const child = new Deno.Command("script", {
    args: ["-qec", command, "/dev/null"],
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill("SIGKILL");
  }, TIMEOUT_MS);
  const out = await child.output();
  clearTimeout(timer);
  const decoder = new TextDecoder();
  return {
    timedOut,
    code: out.code,
    // The terminal turns "\n" into "\r\n" and merges stdout and stderr.
    output: decoder.decode(out.stdout).replaceAll("\r\n", "\n") + decoder.decode(out.stderr),
  };
}

/** A main.ts started on `-p 0` by {@linkcode startMain}, its first stderr line read. */
interface StartedMain extends AsyncDisposable {
  /** The start-up line, without its newline. */
  firstLine: string;
  /** The port the start-up line names. */
  port: number;
  /** Stops with `signal`; resolves to the exit code and what stderr said after the first line. */
  stop(signal?: Deno.Signal): Promise<{ code: number; rest: string }>;
}

/** Starts `deno run --allow-net <denoFlags> main.ts -p 0 <args>` and reads its start-up line. */
async function startOnPort0(denoFlags: string[], args: string[]): Promise<StartedMain> {
  const main = await startMain(args, { denoFlags, timeoutMs: TIMEOUT_MS });
  const firstLine = (await main.stderrMatch(/^[^\n]*(?=\n)/, TIMEOUT_MS))[0];
  const stopped = async (signal: Deno.Signal = "SIGTERM") => {
    await stop(main.child, signal);
    const code = (await main.child.status).code;
    return { code, rest: (await main.stderr()).slice(firstLine.length + 1) };
  };
  return {
    firstLine,
    port: main.port,
    stop: stopped,
    [Symbol.asyncDispose]: () => main[Symbol.asyncDispose](),
  };
}

Deno.test("main.ts refuses -S without -Y: one line, exit 64", async () => {
  await assertRefusal(
    ["--allow-net"],
    ["-p", "0", "-S"],
    64,
    "mbserver: Option -S needs -Y FILE: without it every client would be refused (see --help)",
  );
});

Deno.test("main.ts refuses -Y without read permission: one line naming --allow-read=FILE, exit 1", async () => {
  await using auth = await authFile();
  await assertRefusal(
    ["--allow-net"],
    ["-p", "0", "-S", "-Y", auth.path],
    1,
    `mbserver: No permission to read ${auth.path} (-Y): add --allow-read=${auth.path} to the deno run flags`,
  );
});

Deno.test("main.ts refuses -Z without read permission for its files, naming only what is missing", async () => {
  await using auth = await authFile();
  const args = ["-p", "0", "-S", "-Y", auth.path, "-Z", "-o", "ssl_chain_cert=c.pem,ssl_key=k.pem"];
  await assertRefusal(
    ["--allow-net", `--allow-read=${auth.path}`],
    args,
    1,
    "mbserver: No permission to read c.pem (-o ssl_chain_cert), k.pem (-o ssl_key): " +
      "add --allow-read=c.pem,k.pem to the deno run flags",
  );
});

Deno.test("main.ts refuses to start without net permission, naming --allow-net=HOST:PORT, exit 1", async () => {
  const port = freePort();
  await assertRefusal(
    [],
    ["-p", String(port)],
    1,
    `mbserver: No permission to listen on 127.0.0.1:${port}: ` +
      `add --allow-net=127.0.0.1:${port} to the deno run flags`,
  );
});

testWithTools(
  "main.ts asks no question on a terminal: a missing permission is the same one line",
  [SCRIPT],
  async () => {
    await using auth = await authFile();
    const cases: [string[], string[], string][] = [
      [
        ["--allow-net"],
        ["-p", "0", "-S", "-Y", auth.path],
        `mbserver: No permission to read ${auth.path} (-Y): add --allow-read=${auth.path} to the deno run flags`,
      ],
      [
        [],
        ["-p", "0"],
        "mbserver: No permission to listen on 127.0.0.1:0: add --allow-net=127.0.0.1:0 to the deno run flags",
      ],
    ];
    for (const [denoFlags, args, line] of cases) {
      const run = await runMainOnTerminal(denoFlags, args);
      const what = `deno run ${denoFlags.join(" ")} main.ts ${args.join(" ")}`;
      assert.equal(run.timedOut, false, `${what} waited on the terminal: ${run.output}`);
      assert.equal(run.output, `${line}\n`, what);
      assert.equal(run.code, 1, what);
    }
  },
);

Deno.test("main.ts's start-up line names the port -p 0 bound, -m, -c and -I", async () => {
  await using main = await startOnPort0([], ["-m", "7", "-c", "33", "-I", "512k"]);
  assert.equal(
    main.firstLine,
    `mbserver ${VERSION} listening on 127.0.0.1:${main.port} with -m 7 -c 33 -I 512k; ` +
      "binary, text and meta protocols; TLS off; SASL off",
  );
  {
    await using client = await RawClient.connect(main.port);
    await client.send("version\r\n");
    assert.equal(await client.readUntil("\r\n"), `VERSION ${VERSION}\r\n`);
  }
  assert.deepEqual(await main.stop(), { code: 0, rest: "" });
});

Deno.test("main.ts -t 2 serves with --allow-net alone: the workers' code needs no --allow-read", async () => {
  await using main = await startOnPort0([], ["-t", "2"]);
  assert.match(main.firstLine, / with -m 64 -c 1024 -I 1m -t 2; /);
  for (let i = 0; i < 4; i++) {
    await using client = await RawClient.connect(main.port);
    await client.send("version\r\n");
    assert.equal(await client.readUntil("\r\n"), `VERSION ${VERSION}\r\n`);
  }
  assert.deepEqual(await main.stop(), { code: 0, rest: "" });
});

testWithTools(
  "main.ts's start-up line says TLS and SASL are on, started with the --allow-read the refusal named",
  [OPENSSL],
  async () => {
    await using auth = await authFile();
    await using cert = await selfSigned();
    const args = [
      "-S",
      "-Y",
      auth.path,
      "-Z",
      "-o",
      `ssl_chain_cert=${cert.certFile},ssl_key=${cert.keyFile}`,
      "-M",
      "-A",
    ];
    const refused = await runMain(["--allow-net"], ["-p", "0", ...args]);
    const allowRead = /(--allow-read=\S+) to the deno run flags/.exec(refused.stderr)?.[1];
    assert.ok(allowRead, refused.stderr);
    await using main = await startOnPort0([allowRead], args);
    assert.equal(
      main.firstLine,
      `mbserver ${VERSION} listening on 127.0.0.1:${main.port} with -m 64 -c 1024 -I 1m; ` +
        "binary, text and meta protocols; TLS on; SASL on; -M (no evictions); -A (shutdown command on)",
    );
    const conn = await Deno.connectTls({
      hostname: "127.0.0.1",
      port: main.port,
      caCerts: [cert.cert],
    });
    conn.close();
    assert.deepEqual(await main.stop(), { code: 0, rest: "" });
  },
);

Deno.test("main.ts --quiet leaves the start-up line out; -vv still logs each command", async () => {
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net", MAIN, "-p", String(port), "--quiet", "-vv"],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  try {
    let client: RawClient | undefined;
    const deadline = Date.now() + TIMEOUT_MS;
    while (client === undefined) {
      client = await RawClient.connect(port).catch(() => undefined);
      if (client === undefined) {
        assert.ok(Date.now() < deadline, "main.ts --quiet did not start");
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
    await client.send("version\r\n");
    await client.readUntil("\r\n");
    await client[Symbol.asyncDispose]();
  } finally {
    await stop(child);
  }
  assert.equal((await child.status).code, 0);
  const lines = (await stderr).split("\n").filter((line) => line !== "");
  assert.ok(!lines.some((line) => line.includes("listening on")), await stderr);
  assert.ok(lines.some((line) => /^<\d+ version$/.test(line)), await stderr);
});
