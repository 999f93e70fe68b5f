import type { Store } from "../store/store.ts";
import { emptySnapshotItem, type SnapshotStore } from "./snapshot_store.ts";

/**
 * The {@linkcode Store} as a snapshot sees it, at the time `now()` gives
 * (Unix seconds). The walk follows the LRU order the store had when it
 * began (a copy of its slots): an item changed since is written as it is
 * when its turn comes, one gone is skipped, one added since is written only
 * if it took the slot of one gone (else the next snapshot has it).
 *
 * @example Usage
 * ```ts
 * import { Store } from "../store/store.ts";
 * import { storeSnapshot } from "./store_snapshot.ts";
 * import assert from "node:assert/strict";
 *
 * const now = 1_700_000_000;
 * const store = Store.create({ now });
 * store.set(new Uint8Array([0x6b]), new Uint8Array([1]), { now });
 * const keys: number[][] = [];
 * storeSnapshot(store, () => now).walk().next((item) => keys.push([...item.key]) > 0);
 * assert.deepEqual(keys, [[0x6b]]);
 * ```
 */
export function storeSnapshot(store: Store, now: () => number): SnapshotStore {
  return {
    walk() {
      const slots = store.lruSlots();
      const item = emptySnapshotItem();
      let i = 0;
      return {
        next(emit) {
          const t = now();
          while (i < slots.length) {
            if (store.readSlot(slots[i++], t, item) && !emit(item)) return true;
          }
          return false;
        },
      };
    },
    insert: (item) =>
      store.insert({
        now: now(),
        key: item.key,
        value: item.value,
        flags: item.flags,
        exptime: item.exptime,
        cas: item.cas,
        time: item.lastAccess,
        fetched: item.fetched,
        binaryKey: item.binaryKey,
        stale: item.stale,
        tokenSent: item.tokenSent,
      }) === "stored",
    clear: () => store.clear(),
    get casCounter() {
      return store.lastCas;
    },
    set casCounter(cas) {
      store.advanceCas(cas);
    },
  };
}
