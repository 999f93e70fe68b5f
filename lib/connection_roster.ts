import type { ConnectionInfo } from "./connection_info.ts";

/** Bytes per connection: a header line, then the two addresses. */
const SLOT_BYTES = 192;
/** Bytes kept of each address (`tcp:[IPv6]:port` needs 51). */
const ADDRESS_BYTES = 80;
// Int32 places in a slot's header.
/** Odd while the slot is being written (a sequence count: readers retry). */
const SEQ = 0;
/** The connection's number; 0 when the slot is free. */
const ID = 1;
const ADDR_LENGTH = 2;
const LISTEN_LENGTH = 3;
const PARTIAL = 4;
/** Float64 place of the last command's time. */
const LAST_COMMAND = 3;
/** Byte offsets of the addresses in a slot. */
const ADDR_AT = 32;
const LISTEN_AT = ADDR_AT + ADDRESS_BYTES;
/** Times a reader reads a slot that keeps changing before it leaves it out. */
const READ_TRIES = 8;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Options of {@linkcode ConnectionRoster.allocate}. */
export interface ConnectionRosterMemoryOptions {
  /** Number of workers. */
  workers: number;
  /** Connections the whole server admits at most (`-c`): each worker may hold them all. */
  maxConnections: number;
}

/** Options of a {@linkcode ConnectionRoster}. */
export interface ConnectionRosterOptions {
  /** This worker's number. */
  worker: number;
  /** Number of workers the memory was made for. */
  workers: number;
}

/**
 * The connections of every worker of a server with several, in shared
 * memory, so that `stats conns` from any connection lists them all, as
 * memcached's does over its threads. Each worker writes only its own
 * connections' slots (when a connection opens or closes, and its last
 * command's time and state when it refreshes them) and reads the others'.
 * A slot's sequence count tells a reader that it read a slot while its
 * worker wrote it, and it reads it again.
 *
 * @example Usage
 * ```ts
 * import { ConnectionRoster } from "./connection_roster.ts";
 * import assert from "node:assert/strict";
 *
 * const memory = ConnectionRoster.allocate({ workers: 2, maxConnections: 8 });
 * const first = new ConnectionRoster(memory, { worker: 0, workers: 2 });
 * const second = new ConnectionRoster(memory, { worker: 1, workers: 2 });
 * const slot = first.add({
 *   id: 1,
 *   addr: "tcp:127.0.0.1:50000",
 *   listenAddr: "tcp:127.0.0.1:11211",
 *   lastCommand: 0,
 *   partial: false,
 * });
 * assert.deepEqual(second.others().map((info) => info.id), [1]);
 * first.remove(slot);
 * assert.deepEqual(second.others(), []);
 * ```
 */
export class ConnectionRoster {
  #memory: SharedArrayBuffer;
  #i: Int32Array<SharedArrayBuffer>;
  #f: Float64Array<SharedArrayBuffer>;
  #bytes: Uint8Array<SharedArrayBuffer>;
  #worker: number;
  #workers: number;
  /** This worker's free slots (numbers among its own), and the next never used. */
  #free: number[] = [];
  #next = 0;

  /** Makes the shared memory (grown as workers need slots; reserved up front). */
  static allocate(options: ConnectionRosterMemoryOptions): SharedArrayBuffer {
    const slots = options.workers * options.maxConnections;
    return new SharedArrayBuffer(0, { maxByteLength: slots * SLOT_BYTES });
  }

  /** Attaches worker `options.worker` to the roster in `memory`. */
  constructor(memory: SharedArrayBuffer, options: ConnectionRosterOptions) {
    if (options.worker < 0 || options.worker >= options.workers) {
      throw new RangeError(
        `Worker ${options.worker} has no slots in a roster of ${options.workers}`,
      );
    }
    this.#memory = memory;
    this.#i = new Int32Array(memory);
    this.#f = new Float64Array(memory);
    this.#bytes = new Uint8Array(memory);
    this.#worker = options.worker;
    this.#workers = options.workers;
  }

  /**
   * Lists `info`'s connection; returns its slot, or -1 when the roster is
   * full (the connection is then left out of other workers' lists).
   */
  add(info: ConnectionInfo): number {
    const own = this.#free.pop() ?? this.#next++;
    const slot = own * this.#workers + this.#worker;
    if (!this.#room(slot)) {
      this.#next--;
      return -1;
    }
    const at = slot * (SLOT_BYTES / 4);
    Atomics.add(this.#i, at + SEQ, 1);
    this.#i[at + ID] = info.id;
    this.#i[at + ADDR_LENGTH] = this.#writeAddress(info.addr, slot * SLOT_BYTES + ADDR_AT);
    this.#i[at + LISTEN_LENGTH] = this.#writeAddress(
      info.listenAddr,
      slot * SLOT_BYTES + LISTEN_AT,
    );
    this.#setState(slot, info);
    Atomics.add(this.#i, at + SEQ, 1);
    return slot;
  }

  /** Notes a listed connection's last command and whether it holds part of a request. */
  update(slot: number, info: Pick<ConnectionInfo, "lastCommand" | "partial">): void {
    if (slot < 0) return;
    const at = slot * (SLOT_BYTES / 4);
    Atomics.add(this.#i, at + SEQ, 1);
    this.#setState(slot, info);
    Atomics.add(this.#i, at + SEQ, 1);
  }

  /** Takes a closed connection off the roster. */
  remove(slot: number): void {
    if (slot < 0) return;
    const at = slot * (SLOT_BYTES / 4);
    Atomics.add(this.#i, at + SEQ, 1);
    this.#i[at + ID] = 0;
    Atomics.add(this.#i, at + SEQ, 1);
    this.#free.push((slot - this.#worker) / this.#workers);
  }

  /** The connections of every other worker. */
  others(): ConnectionInfo[] {
    const infos: ConnectionInfo[] = [];
    const slots = Math.floor(this.#memory.byteLength / SLOT_BYTES);
    for (let slot = 0; slot < slots; slot++) {
      if (slot % this.#workers === this.#worker) continue;
      const info = this.#read(slot);
      if (info) infos.push(info);
    }
    return infos;
  }

  /** Grows the memory (by doubling) until it holds `slot`; false when it cannot. */
  #room(slot: number): boolean {
    const memory = this.#memory;
    const need = (slot + 1) * SLOT_BYTES;
    if (memory.byteLength >= need) return true;
    if (need > memory.maxByteLength) return false;
    const grown = Math.min(
      memory.maxByteLength,
      Math.max(need, memory.byteLength * 2, this.#workers * 8 * SLOT_BYTES),
    );
    try {
      memory.grow(grown);
    } catch {
      // Another worker grew it meanwhile, maybe past `grown`.
    }
    return memory.byteLength >= need;
  }

  #setState(slot: number, info: Pick<ConnectionInfo, "lastCommand" | "partial">): void {
    this.#i[slot * (SLOT_BYTES / 4) + PARTIAL] = info.partial ? 1 : 0;
    this.#f[slot * (SLOT_BYTES / 8) + LAST_COMMAND] = info.lastCommand;
  }

  /** Writes an address (cut to what a slot keeps); returns its length in bytes. */
  #writeAddress(address: string, at: number): number {
    const { written } = encoder.encodeInto(
      address,
      this.#bytes.subarray(at, at + ADDRESS_BYTES),
    );
    return written;
  }

  /** The connection in `slot`, read whole, or undefined when the slot is free. */
  #read(slot: number): ConnectionInfo | undefined {
    const i = this.#i;
    const at = slot * (SLOT_BYTES / 4);
    for (let tries = 0; tries < READ_TRIES; tries++) {
      const seq = Atomics.load(i, at + SEQ);
      if (seq & 1) continue;
      const id = i[at + ID];
      if (id === 0) return undefined;
      const info = {
        id,
        addr: this.#readAddress(slot * SLOT_BYTES + ADDR_AT, i[at + ADDR_LENGTH]),
        listenAddr: this.#readAddress(slot * SLOT_BYTES + LISTEN_AT, i[at + LISTEN_LENGTH]),
        lastCommand: this.#f[slot * (SLOT_BYTES / 8) + LAST_COMMAND],
        partial: i[at + PARTIAL] === 1,
      };
      // A read-modify-write: no load above may pass it, on any processor.
      if (Atomics.add(i, at + SEQ, 0) === seq) return info;
    }
    return undefined;
  }

  #readAddress(at: number, length: number): string {
    const n = Math.min(Math.max(length, 0), ADDRESS_BYTES);
    // TextDecoder takes no view of shared memory: copy it out first.
    return decoder.decode(this.#bytes.slice(at, at + n));
  }
}
