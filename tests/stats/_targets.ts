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
  /** Its worker threads (`-t`): stats report them. */
  threads: 1 | 4;
  tools: Tool[];
  /** Starts it with memcached-style `args`; close it when done. */
  start(args: string[]): Promise<{ port: number } & AsyncDisposable>;
  /** Why its test is not run yet; undefined = run it. */
  pending?: string;
}

/**
 * memcached and mbserver, each with one thread and with four (mbserver's
 * workers then serve connections over one store; whichever worker serves a
 * client, the stats are the server's).
 */
export const TARGETS: Target[] = [1, 4].flatMap((threads) => {
  const t = ["-t", String(threads)];
  const suffix = threads === 1 ? "" : ` -t ${threads}`;
  return [
    {
      name: `memcached${suffix}`,
      threads: threads as 1 | 4,
      tools: [MEMCACHED],
      start: (args: string[]) => startMemcached([...t, ...args]),
    },
    {
      name: `mbserver${suffix}`,
      threads: threads as 1 | 4,
      tools: [],
      start: (args: string[]) => startMain([...t, ...args]),
    },
  ];
});

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
