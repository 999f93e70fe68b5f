/**
 * Starts a real Prometheus (Debian package `prometheus`) scraping given
 * targets every 250 ms, with its storage in a temporary directory and its
 * web API on a free loopback port, and queries it.
 *
 * @module
 */
import { freePort, stop } from "./child_server.ts";

/** A running Prometheus. */
export interface RealPrometheus extends AsyncDisposable {
  /** Port of its web API. */
  port: number;
  /** Runs an instant query; the samples of the result vector. */
  query(expr: string): Promise<{ metric: Record<string, string>; value: string }[]>;
  /**
   * Polls `expr` until its first sample's value is `expected` (or `timeoutMs`
   * passes, then throws with what it last saw).
   */
  waitFor(expr: string, expected: string, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/** Starts Prometheus scraping `targets` (`host:port`) at `/metrics`. */
export async function startPrometheus(targets: string[]): Promise<RealPrometheus> {
  const dir = await Deno.makeTempDir({ prefix: "mbserver-prometheus-" });
  const config = `${dir}/prometheus.yml`;
  await Deno.writeTextFile(
    config,
    [
      "global:",
      "  scrape_interval: 250ms",
      "  scrape_timeout: 200ms",
      "scrape_configs:",
      "  - job_name: mbserver",
      "    static_configs:",
      `      - targets: [${targets.map((t) => `'${t}'`).join(", ")}]`,
      "",
    ].join("\n"),
  );
  const port = freePort();
  const child = new Deno.Command("prometheus", {
    args: [
      `--config.file=${config}`,
      `--storage.tsdb.path=${dir}/data`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--log.level=error",
    ],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  let closed: Promise<void> | undefined;
  const close = () =>
    closed ??= (async () => {
      await stop(child);
      await stderr;
      await Deno.remove(dir, { recursive: true });
    })();
  const base = `http://127.0.0.1:${port}`;
  try {
    await until(async () => (await fetchText(`${base}/-/ready`))?.status === 200, 30_000);
  } catch (err) {
    await close();
    throw new Error(`Prometheus did not become ready: ${(err as Error).message}: ${await stderr}`);
  }
  const query = async (expr: string) => {
    const reply = await fetchText(`${base}/api/v1/query?query=${encodeURIComponent(expr)}`);
    if (!reply || reply.status !== 200) throw new Error(`Query ${expr} failed: ${reply?.text}`);
    const body = JSON.parse(reply.text);
    return (body.data.result as { metric: Record<string, string>; value: [number, string] }[])
      .map((r) => ({ metric: r.metric, value: r.value[1] }));
  };
  const waitFor = async (expr: string, expected: string, timeoutMs = 20_000) => {
    let last = "nothing";
    try {
      await until(async () => {
        const result = await query(expr);
        last = JSON.stringify(result);
        return result[0]?.value === expected;
      }, timeoutMs);
    } catch {
      throw new Error(`Prometheus query ${expr}: expected ${expected}, last saw ${last}`);
    }
  };
  return { port, query, waitFor, close, [Symbol.asyncDispose]: close };
}

async function fetchText(url: string): Promise<{ status: number; text: string } | undefined> {
  try {
    const res = await fetch(url);
    return { status: res.status, text: await res.text() };
  } catch {
    return undefined;
  }
}

async function until(done: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
