/**
 * Runs `promtool check metrics` (Debian package `prometheus`) on a page.
 *
 * @module
 */

/** What promtool said: its exit status and its complaints. */
export interface PromtoolResult {
  ok: boolean;
  output: string;
}

/** Pipes `page` into `promtool check metrics`. */
export async function promtoolCheck(page: string): Promise<PromtoolResult> {
  const child = new Deno.Command("promtool", {
    args: ["check", "metrics"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(page));
  await writer.close();
  const out = await child.output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { ok: out.success, output: decode(out.stdout) + decode(out.stderr) };
}
