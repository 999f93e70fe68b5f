/**
 * The servers the stats tests run against: real memcached 1.6.18 (the
 * oracle) and ours (`main.ts`), each started with the same flags, so the
 * same assertions hold for both.
 *
 * @module
 */
import { startMain } from "../hardening/_main_process.ts";
import { startMemcached } from "../_support/memcached.ts";
import { MEMCACHED, testWithTools, type Tool } from "../_support/tools.ts";

/** A server under test. */
export interface Target {
  name: string;
  tools: Tool[];
  /** Starts it with memcached-style `args`; close it when done. */
  start(args: string[]): Promise<{ port: number } & AsyncDisposable>;
  /** Why its test is not run yet; undefined = run it. */
  pending?: string;
}

/** memcached and mbserver. */
export const TARGETS: Target[] = [
  { name: "memcached", tools: [MEMCACHED], start: (args) => startMemcached(args) },
  {
    name: "mbserver",
    tools: [],
    start: (args) => startMain(["-t", "1", ...args]),
  },
];

/** Registers `name` once per target: the same body, against each server. */
export function testEachTarget(name: string, fn: (target: Target) => Promise<void>): void {
  for (const target of TARGETS) {
    const full = `${name} (${target.name})`;
    if (target.pending) {
      Deno.test({ name: `${full} [pending: ${target.pending}]`, ignore: true, fn: () => {} });
    } else {
      testWithTools(full, target.tools, () => fn(target));
    }
  }
}
