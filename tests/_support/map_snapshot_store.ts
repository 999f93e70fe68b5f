/**
 * A {@linkcode SnapshotStore} over a Map, for snapshot tests: insertion
 * order is LRU order, `memoryLimit` counts key + value bytes and evicts the
 * oldest, `maxItemSize` refuses larger items.
 *
 * @module
 */
import type {
  SnapshotItem,
  SnapshotStore,
  SnapshotWalk,
} from "../../lib/snapshot/snapshot_store.ts";

/** A stored item (own copies of the bytes). */
export type StoredItem = SnapshotItem & { keyString: string };

/** A Map-backed store implementing the snapshot interface. */
export class MapSnapshotStore implements SnapshotStore {
  items = new Map<string, StoredItem>();
  casCounter = 0;
  memoryLimit: number;
  maxItemSize: number;
  evictions = 0;

  constructor(options: { memoryLimit?: number; maxItemSize?: number } = {}) {
    this.memoryLimit = options.memoryLimit ?? Infinity;
    this.maxItemSize = options.maxItemSize ?? Infinity;
  }

  /** Bytes held (keys and values). */
  bytes = 0;

  /** Adds an item as a client would (next CAS, now as last access). */
  set(key: string, value: Uint8Array | string, fields: Partial<SnapshotItem> = {}): StoredItem {
    const item: StoredItem = {
      keyString: key,
      key: latin1(key),
      value: typeof value === "string" ? latin1(value) : value.slice(),
      flags: 0,
      cas: ++this.casCounter,
      exptime: 0,
      lastAccess: 1_700_000_000,
      fetched: false,
      ...fields,
    };
    this.#remove(key);
    this.items.set(key, item);
    this.bytes += item.key.length + item.value.length;
    return item;
  }

  walk(): SnapshotWalk {
    // Map iterators survive changes: deleted entries are skipped, new ones visited.
    const it = this.items.values();
    return {
      next(emit: (item: SnapshotItem) => boolean): boolean {
        for (let r = it.next(); !r.done; r = it.next()) if (!emit(r.value)) return true;
        return false;
      },
    };
  }

  insert(item: SnapshotItem): boolean {
    const size = item.key.length + item.value.length;
    if (size > this.maxItemSize) return false;
    const key = String.fromCharCode(...item.key);
    const old = this.items.get(key);
    if (old && old.cas >= item.cas) return false;
    this.#remove(key);
    for (const oldest of this.items.keys()) {
      if (this.bytes + size <= this.memoryLimit) break;
      this.#remove(oldest);
      this.evictions++;
    }
    this.items.set(key, {
      ...item,
      keyString: key,
      key: item.key.slice(),
      value: item.value.slice(),
    });
    this.bytes += size;
    return true;
  }

  clear(): void {
    this.items.clear();
    this.bytes = 0;
  }

  /** Deletes an item as a client would. */
  delete(key: string): void {
    this.#remove(key);
  }

  #remove(key: string): void {
    const old = this.items.get(key);
    if (!old) return;
    this.items.delete(key);
    this.bytes -= old.key.length + old.value.length;
  }
}

/** A byte string as bytes (one char per byte). */
export function latin1(s: string): Uint8Array {
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}
