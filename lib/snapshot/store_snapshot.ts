import type { Store } from "../store.ts";
import type { SnapshotItem, SnapshotStore } from "./snapshot_store.ts";

/**
 * The {@linkcode Store} as a snapshot sees it. The walk follows the LRU
 * order the store had when it began (a copy of its slots): an item changed
 * since is written as it is when its turn comes, one gone is skipped, one
 * added since is written only if it took the slot of one gone (else the
 * next snapshot has it).
 *
 * @example Usage
 * ```ts
 * import { Store } from "../store.ts";
 * import { storeSnapshot } from "./store_snapshot.ts";
 * import assert from "node:assert/strict";
 *
 * const store = new Store();
 * store.store({ mode: "set", key: "k", value: new Uint8Array([1]) });
 * const keys: number[][] = [];
 * storeSnapshot(store).walk().next((item) => keys.push([...item.key]) > 0);
 * assert.deepEqual(keys, [[0x6b]]);
 * ```
 */
export function storeSnapshot(store: Store): SnapshotStore {
  return {
    walk() {
      const slots = store.lruSlots();
      const item: SnapshotItem = {
        key: new Uint8Array(0),
        value: new Uint8Array(0),
        flags: 0,
        cas: 0,
        exptime: 0,
        lastAccess: 0,
        fetched: false,
      };
      let i = 0;
      return {
        next(emit) {
          const now = store.now();
          while (i < slots.length) {
            if (store.readSlot(slots[i++], now, item) && !emit(item)) return true;
          }
          return false;
        },
      };
    },
    insert: (item) => store.restoreItem(item),
    clear: () => store.flush(),
    get casCounter() {
      return store.lastCas;
    },
    set casCounter(cas) {
      store.lastCas = cas;
    },
  };
}
