/**
 * A {@linkcode Store} whose clock the test moves, with string helpers: keys
 * and values are byte strings (one char per byte).
 *
 * @module
 */
import { ByteArena } from "../../lib/byte_arena.ts";
import type { Item } from "../../lib/store/item.ts";
import { type Miss, type SetOptions, Store, type StoreOptions } from "../../lib/store/store.ts";

export const T0 = 1_700_000_000;

/** Bytes of a byte string. */
export const bytes = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));

/** A byte string of bytes. */
export const str = (b: Uint8Array): string => {
  let s = "";
  for (const c of b) s += String.fromCharCode(c);
  return s;
};

/** The item of a lookup, or undefined for any miss. */
export const hit = (r: Item | Miss): Item | undefined => typeof r === "string" ? undefined : r;

/** A store at time T0 and helpers that pass the test's time. */
export function clocked(options: Partial<StoreOptions> = {}) {
  let now = T0;
  const store = Store.create({ now: T0, ...options });
  const arena = new ByteArena();
  const get = (key: string) => store.get(bytes(key), { now, into: arena });
  const peek = (key: string) => hit(store.get(bytes(key), { now, into: arena, peek: true }));
  return {
    store,
    get now() {
      return now;
    },
    advance(seconds: number) {
      now += seconds;
    },
    get,
    peek,
    /** The value of `key` by a fetching lookup, or undefined. */
    value(key: string): string | undefined {
      const item = hit(get(key));
      return item && str(item.value);
    },
    set(key: string, value: string | Uint8Array, options: Omit<SetOptions, "now"> = {}) {
      const data = typeof value === "string" ? bytes(value) : value;
      return store.set(bytes(key), data, { now, ...options });
    },
    delete: (key: string, cas = 0) => store.delete(bytes(key), { now, cas }),
    incr: (key: string, amount: bigint, held = false) =>
      store.delta(bytes(key), { now, op: "incr", amount, heldElsewhere: () => held }),
    decr: (key: string, amount: bigint, held = false) =>
      store.delta(bytes(key), { now, op: "decr", amount, heldElsewhere: () => held }),
    touch: (key: string, exptime: number) => hit(store.touch(bytes(key), { now, exptime })),
    flush: (delay = 0) => store.flush({ now, delay }),
    sweep: (limit?: number) => store.sweep({ now, limit }),
    /** Keys of the live items, least recently used first. */
    keys: () => [...store.entries({ now, into: arena })].map(([key]) => str(key)),
  };
}
