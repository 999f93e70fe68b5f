/**
 * Resident memory per item of the store alone, in this process: 1,000,000
 * items (32-byte keys, 100-byte values, as `memory.ts` loads over the wire)
 * with the limit `-m 1024` gives, measured in a fresh process.
 *
 * ```sh
 * deno run --allow-read --allow-run --v8-flags=--expose-gc bench/store_memory.ts
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { Store } from "../lib/store/store.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    store: { type: "string" },
    items: { type: "string", default: "1000000" },
    m: { type: "string", default: "1024" },
  },
});
const items = Number(values.items);
const limit = Number(values.m) * 1024 * 1024;

/** Measures one store in this process; prints resident bytes before and after. */
function measure(kind: string): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const before = Deno.memoryUsage().rss;
  const now = Math.floor(Date.now() / 1000);
  const key = new Uint8Array(32);
  const value = new Uint8Array(100);
  const store = Store.create({ now, memoryLimit: limit });
  for (let i = 0; i < items; i++) {
    const name = `key:${String(i).padStart(28, "0")}`;
    for (let j = 0; j < 100; j++) value[j] = 0x21 + ((i * 31 + j * 7) % 90);
    for (let j = 0; j < 32; j++) key[j] = name.charCodeAt(j);
    store.set(key, value, { now });
  }
  gc?.();
  const after = Deno.memoryUsage().rss;
  const size = store.size;
  console.log(JSON.stringify({ kind, items: size, before, after }));
}

if (values.store) {
  measure(values.store);
} else {
  for (const kind of ["shared"]) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-read",
        "--v8-flags=--expose-gc",
        new URL(import.meta.url).pathname,
        "--store",
        kind,
        "--items",
        String(items),
        "-m",
        values.m,
      ],
      stderr: "inherit",
    }).output();
    const r = JSON.parse(new TextDecoder().decode(out.stdout));
    const mib = (n: number) => (n / 1024 / 1024).toFixed(1);
    console.log(
      `${kind} store: ${r.items} items, resident ${mib(r.before)} -> ${mib(r.after)} MiB, ` +
        `${((r.after - r.before) / r.items).toFixed(1)} bytes per item`,
    );
  }
}
