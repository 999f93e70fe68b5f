/**
 * A pool of `main.ts` instances behind twemproxy (`nutcracker`), and a small
 * text-protocol client that talks to the proxy, for the pool tests.
 *
 * @module
 */
import { freePort, stop, waitForPort } from "../_support/child_server.ts";
import { RawClient } from "../_support/raw_client.ts";
import { NUTCRACKER } from "../_support/tools.ts";

/** twemproxy pool settings the tests vary. */
export interface ProxyOptions {
  /** The instances' ports. */
  ports: number[];
  /**
   * Name them `mb0`, `mb1`, … so the ring does not depend on addresses;
   * unnamed, the ring is built from `host:port` as libmemcached's is.
   * @default {true}
   */
  named?: boolean;
  /** Milliseconds before an ejected instance is tried again. */
  retryTimeoutMs: number;
  /** Consecutive failures that eject an instance. */
  failureLimit: number;
}

/** A running nutcracker. */
export interface Proxy extends AsyncDisposable {
  port: number;
  /** Its configuration, as written. */
  config: string;
}

/** The nutcracker configuration of a ketama pool over `ports`. */
export function proxyConfig(listenPort: number, options: ProxyOptions): string {
  return [
    "mbserver:",
    `  listen: 127.0.0.1:${listenPort}`,
    "  hash: md5",
    "  distribution: ketama",
    "  timeout: 2000",
    "  auto_eject_hosts: true",
    `  server_retry_timeout: ${options.retryTimeoutMs}`,
    `  server_failure_limit: ${options.failureLimit}`,
    "  servers:",
    ...options.ports.map((port, i) =>
      `    - 127.0.0.1:${port}:1` + (options.named === false ? "" : ` mb${i}`)
    ),
    "",
  ].join("\n");
}

/** Starts nutcracker over the instances; its files live in a temporary directory. */
export async function startProxy(options: ProxyOptions): Promise<Proxy> {
  const dir = await Deno.makeTempDir({ prefix: "mbserver-pool-" });
  const port = freePort();
  const config = proxyConfig(port, options);
  await Deno.writeTextFile(`${dir}/pool.yml`, config);
  const child = new Deno.Command(NUTCRACKER.command, {
    args: [
      ...["-c", `${dir}/pool.yml`, "-o", `${dir}/nutcracker.log`, "-p", `${dir}/nutcracker.pid`],
      ...["-s", String(freePort()), "-a", "127.0.0.1"],
    ],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const log = () => Deno.readTextFile(`${dir}/nutcracker.log`).catch(() => "");
  await waitForPort(port, child, "nutcracker", 10_000, log);
  return {
    port,
    config,
    async [Symbol.asyncDispose]() {
      await stop(child, "SIGKILL");
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** How one request through the pool ended. */
export type Outcome = "stored" | "hit" | "miss" | `error: ${string}`;

/** A text-protocol client that pipelines requests and reads every answer. */
export class TextClient implements AsyncDisposable {
  #raw: RawClient;

  private constructor(raw: RawClient) {
    this.#raw = raw;
  }

  /** Connects to 127.0.0.1:port. */
  static async connect(port: number): Promise<TextClient> {
    return new TextClient(await RawClient.connect(port));
  }

  /** Sets each key to `valueOf(key)`, pipelined. */
  async set(keys: string[], valueOf: (key: string) => string): Promise<Outcome[]> {
    await this.#raw.send(
      keys.map((k) => `set ${k} 0 0 ${valueOf(k).length}\r\n${valueOf(k)}\r\n`).join(""),
    );
    const out: Outcome[] = [];
    for (const _ of keys) {
      const line = (await this.#raw.readLine()).trimEnd();
      out.push(line === "STORED" ? "stored" : `error: ${line}`);
    }
    return out;
  }

  /** Gets each key (one `get` per key, pipelined); a hit must carry `valueOf(key)`. */
  async get(keys: string[], valueOf: (key: string) => string): Promise<Outcome[]> {
    await this.#raw.send(keys.map((k) => `get ${k}\r\n`).join(""));
    const out: Outcome[] = [];
    for (const key of keys) {
      const line = (await this.#raw.readLine()).trimEnd();
      if (line === "END") {
        out.push("miss");
      } else if (line.startsWith(`VALUE ${key} `)) {
        const data = (await this.#raw.readLine()).trimEnd();
        await this.#raw.readLine(); // END
        out.push(data === valueOf(key) ? "hit" : `error: wrong value ${data}`);
      } else {
        out.push(`error: ${line}`);
      }
    }
    return out;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.#raw[Symbol.asyncDispose]();
  }
}

/** An instance's `curr_items`, asked directly. */
export async function currItems(port: number): Promise<number> {
  await using client = await RawClient.connect(port);
  await client.send("stats\r\n");
  const stats = await client.readUntil("END\r\n");
  return Number(/STAT curr_items (\d+)/.exec(stats)![1]);
}

/** Which of `keys` an instance holds, asked directly with one multi-get. */
export async function heldKeys(port: number, keys: string[]): Promise<Set<string>> {
  await using client = await RawClient.connect(port);
  const held = new Set<string>();
  for (let i = 0; i < keys.length; i += 200) {
    await client.send(`get ${keys.slice(i, i + 200).join(" ")}\r\n`);
    const reply = await client.readUntil("END\r\n", 10_000);
    for (const m of reply.matchAll(/VALUE (\S+) /g)) held.add(m[1]);
  }
  return held;
}

/** Counts outcomes by kind. */
export function tally(outcomes: Outcome[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const o of outcomes) counts[o] = (counts[o] ?? 0) + 1;
  return counts;
}
