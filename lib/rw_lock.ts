/**
 * A held share of a {@linkcode RwLock}; release it once, or let
 * `using` release it at the end of the scope.
 */
export interface RwLockGuard extends Disposable {
  /** Releases the share. Releasing twice does nothing. */
  release(): void;
}

/** Options of a {@linkcode RwLock} (per thread: each attaches with its own). */
export interface RwLockOptions {
  /**
   * Microseconds to poll for a turn before sleeping. Turns are short, and
   * with no more busy threads than cores, polling a few tens of
   * microseconds avoids a sleep and wake-up per turn (a convoy in which
   * every turn waits for the next thread to be scheduled); with more
   * threads than cores, polling takes the core from the holder. 0 while the
   * holder may be this thread. @default {0}
   */
  spinMicros?: number;
}

// Int32 places of the lock word.
/** Next ticket to hand out. */
const USERS = 0;
/** Readers may enter while their ticket equals this. */
const READ = 1;
/** Writers may enter while their ticket equals this; counts finished turns. */
const WRITE = 2;
/** 1 while a writer holds the lock (for `writing` only). */
const WRITER = 3;
/** Int32s of the counters (one 64-byte line), then the wake-up slots. */
const INTS = 16;
/**
 * Wake-up slots: the waiter with ticket t sleeps on slot t % SLOTS, and
 * whoever makes it t's turn bumps that slot and wakes it, so a turn wakes
 * its one waiter rather than every waiter.
 */
const SLOTS = 1024;

/** Pending `Atomics.waitAsync` calls in this thread, and the timer that keeps it alive meanwhile. */
let pendingWaits = 0;
let keepAlive: ReturnType<typeof setInterval> | undefined;

/** Ends a turn (module-private: for the guards). */
let finishTurn: (lock: RwLock, write: boolean) => void;

/**
 * A writer-preferring read/write lock over a few integers in shared memory,
 * usable from every worker that was given its {@linkcode RwLock.buffer}.
 *
 * Any number of readers hold it together; a writer holds it alone. It is a
 * ticket lock: each caller takes the next ticket and is served in ticket
 * order, so waiters are served first come, first served, and a waiting
 * writer stops every reader that arrives after it (writers never starve).
 * Consecutive readers are served together.
 *
 * {@linkcode RwLock.tryRead} and {@linkcode RwLock.tryWrite}
 * are synchronous fast paths (a compare-and-exchange, no Promise).
 * {@linkcode RwLock.read} and {@linkcode RwLock.write} wait
 * with `Atomics.waitAsync`, so the event loop keeps running (and is kept
 * alive while they wait); `readSync`/`writeSync` block the thread with
 * `Atomics.wait`. Both may poll first (`spinMicros`). A caller that took a ticket always gets its turn and must
 * release it, whatever happened meanwhile: everyone behind it waits.
 *
 * @example Usage
 * ```ts
 * import { RwLock } from "./rw_lock.ts";
 * import assert from "node:assert/strict";
 *
 * const lock = new RwLock();
 * const other = new RwLock(lock.buffer); // as a worker would attach
 * {
 *   using _write = await lock.write();
 *   assert(other.tryRead() === undefined); // readers wait for the writer
 * }
 * const read = other.tryRead();
 * assert(read !== undefined);
 * read.release();
 * ```
 */
export class RwLock {
  #a: Int32Array<SharedArrayBuffer>;
  #slots: Int32Array<SharedArrayBuffer>;
  #spinMicros: number;

  static {
    finishTurn = (lock, write) => lock.#finish(write);
  }

  /** Attaches to the lock in `buffer`, or makes a new lock. */
  constructor(
    buffer: SharedArrayBuffer = new SharedArrayBuffer((INTS + SLOTS) * 4),
    options: RwLockOptions = {},
  ) {
    this.#a = new Int32Array(buffer, 0, INTS);
    this.#slots = new Int32Array(buffer, INTS * 4, SLOTS);
    this.#spinMicros = options.spinMicros ?? 0;
  }

  /** The shared memory of the lock, to hand to another worker. */
  get buffer(): SharedArrayBuffer {
    return this.#a.buffer;
  }

  /** Number of readers holding the lock now. */
  get readers(): number {
    return (Atomics.load(this.#a, READ) - Atomics.load(this.#a, WRITE)) | 0;
  }

  /** Whether a writer holds the lock now. */
  get writing(): boolean {
    return Atomics.load(this.#a, WRITER) === 1;
  }

  /** Number of callers waiting for the lock. */
  get waiting(): number {
    const taken = (Atomics.load(this.#a, USERS) - Atomics.load(this.#a, WRITE)) | 0;
    return taken - this.readers - (this.writing ? 1 : 0);
  }

  /**
   * Takes a read share at once when no writer holds or awaits the lock.
   *
   * @returns A guard, or `undefined` when the caller would have to wait.
   */
  tryRead(): RwLockGuard | undefined {
    const a = this.#a;
    const read = Atomics.load(a, READ);
    if (Atomics.compareExchange(a, USERS, read, (read + 1) | 0) !== read) return undefined;
    this.#advance(READ);
    return new Guard(this, false);
  }

  /**
   * Takes the lock for writing at once when nobody holds or awaits it.
   *
   * @returns A guard, or `undefined` when the caller would have to wait.
   */
  tryWrite(): RwLockGuard | undefined {
    const a = this.#a;
    const write = Atomics.load(a, WRITE);
    if (Atomics.compareExchange(a, USERS, write, (write + 1) | 0) !== write) return undefined;
    Atomics.store(a, WRITER, 1);
    return new Guard(this, true);
  }

  /** Waits for a read share, behind every earlier waiter, without blocking the thread. */
  read(): Promise<RwLockGuard> {
    const guard = this.tryRead();
    if (guard) return Promise.resolve(guard);
    return this.#readAsync(Atomics.add(this.#a, USERS, 1));
  }

  /** Waits for the lock alone, behind every earlier waiter, without blocking the thread. */
  write(): Promise<RwLockGuard> {
    const guard = this.tryWrite();
    if (guard) return Promise.resolve(guard);
    return this.#writeAsync(Atomics.add(this.#a, USERS, 1));
  }

  /** Blocks the thread until it holds a read share. */
  readSync(): RwLockGuard {
    const guard = this.tryRead();
    if (guard) return guard;
    const ticket = Atomics.add(this.#a, USERS, 1);
    this.#block(READ, ticket);
    return this.#enterRead();
  }

  /** Blocks the thread until it holds the lock alone. */
  writeSync(): RwLockGuard {
    const guard = this.tryWrite();
    if (guard) return guard;
    const ticket = Atomics.add(this.#a, USERS, 1);
    this.#block(WRITE, ticket);
    return this.#enterWrite();
  }

  #finish(write: boolean): void {
    const a = this.#a;
    if (!write) return this.#advance(WRITE);
    Atomics.store(a, WRITER, 0);
    Atomics.add(a, WRITE, 1);
    this.#advance(READ); // the same value as WRITE now
  }

  /**
   * Moves a serving counter on to ticket v and wakes v's waiter, if it can
   * exist: a waiter took its ticket before it waits, so with no ticket
   * handed out past v, nobody waits for v (and whoever takes it later sees
   * the new value before waiting).
   */
  #advance(index: number): void {
    const a = this.#a;
    const value = (Atomics.add(a, index, 1) + 1) | 0;
    if (Atomics.load(a, USERS) === value) return;
    const slot = value & (SLOTS - 1);
    Atomics.add(this.#slots, slot, 1);
    Atomics.notify(this.#slots, slot);
  }

  async #readAsync(ticket: number): Promise<RwLockGuard> {
    await this.#wait(READ, ticket);
    return this.#enterRead();
  }

  async #writeAsync(ticket: number): Promise<RwLockGuard> {
    await this.#wait(WRITE, ticket);
    return this.#enterWrite();
  }

  #enterRead(): RwLockGuard {
    this.#advance(READ); // the next ticket may be a waiting reader
    return new Guard(this, false);
  }

  #enterWrite(): RwLockGuard {
    Atomics.store(this.#a, WRITER, 1);
    return new Guard(this, true);
  }

  /** Waits, without blocking, until the counter at `index` reaches `ticket`. */
  async #wait(index: number, ticket: number): Promise<void> {
    const a = this.#a;
    if (spin(a, index, ticket, this.#spinMicros)) return;
    const slot = ticket & (SLOTS - 1);
    for (;;) {
      if (Atomics.load(a, index) === ticket) return;
      // The slot's count before the counter's, so a turn given in between is seen.
      const seen = Atomics.load(this.#slots, slot);
      if (Atomics.load(a, index) === ticket) return;
      const result = Atomics.waitAsync(this.#slots, slot, seen);
      if (!result.async) continue;
      if (pendingWaits++ === 0) keepAlive = setInterval(() => {}, 1 << 30);
      try {
        await result.value;
      } finally {
        if (--pendingWaits === 0) clearInterval(keepAlive);
      }
    }
  }

  /** Blocks until the counter at `index` reaches `ticket`. */
  #block(index: number, ticket: number): void {
    const a = this.#a;
    if (spin(a, index, ticket, this.#spinMicros)) return;
    const slot = ticket & (SLOTS - 1);
    for (;;) {
      if (Atomics.load(a, index) === ticket) return;
      const seen = Atomics.load(this.#slots, slot);
      if (Atomics.load(a, index) === ticket) return;
      Atomics.wait(this.#slots, slot, seen);
    }
  }
}

/** Whether the counter at `index` reaches `ticket` within `micros` of polling. */
function spin(
  a: Int32Array<SharedArrayBuffer>,
  index: number,
  ticket: number,
  micros: number,
): boolean {
  if (micros <= 0) return false;
  const end = performance.now() + micros / 1000;
  do {
    for (let i = 0; i < 64; i++) {
      if (Atomics.load(a, index) === ticket) return true;
    }
  } while (performance.now() < end);
  return false;
}

/** A held share: releases its turn once. */
class Guard implements RwLockGuard {
  #lock: RwLock | undefined;
  #write: boolean;

  constructor(lock: RwLock, write: boolean) {
    this.#lock = lock;
    this.#write = write;
  }

  release(): void {
    const lock = this.#lock;
    if (!lock) return;
    this.#lock = undefined;
    finishTurn(lock, this.#write);
  }

  [Symbol.dispose](): void {
    this.release();
  }
}
