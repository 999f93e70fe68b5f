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
/** The next reader's ticket: it moves past a reader's ticket when that reader is in. */
const READ = 1;
/** Writers may enter while their ticket equals this; counts finished turns. */
const WRITE = 2;
/** Writers' turns begun and ended: odd while a writer holds the lock. */
const WRITES = 3;
/**
 * Int32s of the counters (one 64-byte line), then the wake-up slots, the
 * readers' slots and the sleepers' counts.
 */
const INTS = 16;
/**
 * Slots per array: the waiter with ticket t sleeps on wake-up slot
 * t % SLOTS (whoever makes it t's turn bumps that slot, and wakes it when
 * its sleepers' count says someone sleeps there: `Atomics.notify` takes a
 * lock shared by every thread of the process, too dear to call for nobody),
 * and a waiting reader notes t in its readers' slot (so it can be let in).
 * Two waiters on one slot only wake each other needlessly.
 */
const SLOTS = 1024;

/**
 * Whether an atomic load comes after every plain load before it: true on
 * x86-64, whose loads are never reordered with one another. Elsewhere (ARM64:
 * V8's atomic load is a load-acquire, which earlier loads may pass) an
 * optimistic reader validates with a read-modify-write, which they may not.
 */
const ORDERED_LOADS = Deno.build.arch === "x86_64";

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
 * Consecutive readers are served together: whoever lets a reader in lets in
 * every reader waiting after it up to the next writer, so a run of readers
 * queued behind a writer does not enter one wake-up (of one thread after
 * another) at a time. A waiter sleeps on its ticket's slot, and only its
 * turn wakes it.
 *
 * {@linkcode RwLock.tryRead} and {@linkcode RwLock.tryWrite}
 * are synchronous fast paths (a compare-and-exchange, no Promise).
 * {@linkcode RwLock.read} and {@linkcode RwLock.write} wait
 * with `Atomics.waitAsync`, so the event loop keeps running (and is kept
 * alive while they wait); `readSync`/`writeSync` block the thread with
 * `Atomics.wait`. Both may poll first (`spinMicros`). A caller that took a
 * ticket always gets its turn and must release it, whatever happened
 * meanwhile: everyone behind it waits.
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
  #sleepers: Int32Array<SharedArrayBuffer>;
  /** Per ticket slot: the ticket of the reader waiting there, so it can be let in. */
  #readers: Int32Array<SharedArrayBuffer>;
  #spinMicros: number;
  /** This thread's last waiting read ticket, which later readers of this thread may share. */
  #waitingRead: ReadShare | undefined;

  static {
    finishTurn = (lock, write) => lock.#finish(write);
  }

  /** Attaches to the lock in `buffer`, or makes a new lock. */
  constructor(
    buffer: SharedArrayBuffer = new SharedArrayBuffer((INTS + 3 * SLOTS) * 4),
    options: RwLockOptions = {},
  ) {
    this.#a = new Int32Array(buffer, 0, INTS);
    this.#slots = new Int32Array(buffer, INTS * 4, SLOTS);
    this.#readers = new Int32Array(buffer, (INTS + SLOTS) * 4, SLOTS);
    this.#sleepers = new Int32Array(buffer, (INTS + 2 * SLOTS) * 4, SLOTS);
    this.#spinMicros = options.spinMicros ?? 0;
  }

  /** The shared memory of the lock, to hand to another worker. */
  get buffer(): SharedArrayBuffer {
    return this.#a.buffer;
  }

  /** Number of read tickets holding the lock now (readers sharing one ticket count once). */
  get readers(): number {
    return (Atomics.load(this.#a, READ) - Atomics.load(this.#a, WRITE)) | 0;
  }

  /** Whether a writer holds the lock now. */
  get writing(): boolean {
    return (Atomics.load(this.#a, WRITES) & 1) !== 0;
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
    // Ticket `read` is ours and its turn: nobody else moves READ past it.
    Atomics.store(a, READ, (read + 1) | 0);
    this.#admitReaders((read + 1) | 0);
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
    this.#beginWrite();
    return new Guard(this, true);
  }

  /**
   * Starts an optimistic read, which takes no turn: a stamp when no writer
   * holds the lock, else -1. Read, then {@linkcode RwLock.validate} the
   * stamp: if it no longer holds, a writer may have changed what was read
   * (and the reading may have seen anything, so it must not have trusted
   * what it read for more than bounded steps): throw it away and read again
   * under a share. Nothing may be written under a stamp. A writer never
   * waits for optimistic readers, so they may go on while one waits for
   * its turn: what they read is from before its turn, as it would be had
   * they read just before it arrived.
   *
   * @example Usage
   * ```ts
   * import { RwLock } from "./rw_lock.ts";
   * import assert from "node:assert/strict";
   *
   * const lock = new RwLock();
   * const stamp = lock.optimistic();
   * assert(stamp >= 0 && lock.validate(stamp));
   * lock.tryWrite()!.release();
   * assert(!lock.validate(stamp)); // a writer came and went
   * ```
   */
  optimistic(): number {
    const stamp = Atomics.load(this.#a, WRITES);
    return (stamp & 1) !== 0 ? -1 : stamp & 0x3fff_ffff;
  }

  /** Whether no writer has had a turn since `stamp` (from {@linkcode RwLock.optimistic}) was taken. */
  validate(stamp: number): boolean {
    const writes = ORDERED_LOADS ? Atomics.load(this.#a, WRITES) : Atomics.add(this.#a, WRITES, 0);
    return (writes & 0x3fff_ffff) === stamp;
  }

  /**
   * Waits for a read share, behind every earlier waiter, without blocking the thread.
   *
   * A reader of this thread that arrives while this thread's last ticket is
   * a waiting reader's, with no ticket taken after it, shares that ticket
   * instead of taking the next: it would be let in with it anyway, and one
   * ticket per run of readers is one wake-up of this thread instead of one
   * per reader (measured at `-t 2`: half the sleeps).
   */
  read(): Promise<RwLockGuard> {
    const guard = this.tryRead();
    if (guard) return Promise.resolve(guard);
    const waiting = this.#waitingRead;
    if (waiting && Atomics.load(this.#a, USERS) === ((waiting.ticket + 1) | 0)) {
      return waiting.join();
    }
    const ticket = Atomics.add(this.#a, USERS, 1);
    const share = new ReadShare(ticket, this.#readAsync(ticket));
    this.#waitingRead = share;
    share.entered.then(() => {
      if (this.#waitingRead === share) this.#waitingRead = undefined;
    });
    return share.join();
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
    this.#register(ticket);
    try {
      if (!spin(() => this.#enterRead(ticket), this.#spinMicros)) {
        while (!this.#enterRead(ticket)) this.#block(ticket, () => this.#readTurn(ticket));
      }
    } finally {
      this.#unregister(ticket);
    }
    return new Guard(this, false);
  }

  /** Blocks the thread until it holds the lock alone. */
  writeSync(): RwLockGuard {
    const guard = this.tryWrite();
    if (guard) return guard;
    const ticket = Atomics.add(this.#a, USERS, 1);
    const turn = () => Atomics.load(this.#a, WRITE) === ticket;
    if (!spin(turn, this.#spinMicros)) {
      while (!turn()) this.#block(ticket, turn);
    }
    this.#beginWrite();
    return new Guard(this, true);
  }

  async #readAsync(ticket: number): Promise<RwLockGuard> {
    this.#register(ticket);
    try {
      if (!spin(() => this.#enterRead(ticket), this.#spinMicros)) {
        while (!this.#enterRead(ticket)) await this.#wait(ticket, () => this.#readTurn(ticket));
      }
    } finally {
      this.#unregister(ticket);
    }
    return new Guard(this, false);
  }

  async #writeAsync(ticket: number): Promise<RwLockGuard> {
    const a = this.#a;
    const turn = () => Atomics.load(a, WRITE) === ticket;
    if (!spin(turn, this.#spinMicros)) {
      while (!turn()) await this.#wait(ticket, turn);
    }
    this.#beginWrite();
    return new Guard(this, true);
  }

  /**
   * Whether reader `ticket` is in: admitted by whoever moved READ past it,
   * or entering now because READ reached it.
   */
  #enterRead(ticket: number): boolean {
    const a = this.#a;
    const read = Atomics.load(a, READ);
    if (((read - ticket) | 0) > 0) return true;
    if (read !== ticket) return false;
    if (Atomics.compareExchange(a, READ, ticket, (ticket + 1) | 0) !== ticket) return true;
    this.#admitReaders((ticket + 1) | 0);
    return true;
  }

  /**
   * READ has just reached `from`: wakes that ticket's waiter, and lets in
   * at once every waiting reader from there on up to the first writer (or
   * the first reader not yet registered, which lets itself in), so that a
   * run of readers queued behind a writer enters together instead of one
   * wake-up after another.
   */
  #admitReaders(from: number): void {
    const a = this.#a;
    const readers = this.#readers;
    for (let next = from;; next = (next + 1) | 0) {
      if (Atomics.load(a, USERS) === next) return; // nobody holds that ticket yet
      const admit = Atomics.load(readers, next & (SLOTS - 1)) === next &&
        Atomics.compareExchange(a, READ, next, (next + 1) | 0) === next;
      this.#wake(next);
      if (!admit) return;
    }
  }

  /** A writer's turn begins: before it changes anything, optimistic readers can tell. */
  #beginWrite(): void {
    Atomics.add(this.#a, WRITES, 1);
  }

  #finish(write: boolean): void {
    const a = this.#a;
    if (!write) {
      const next = (Atomics.add(a, WRITE, 1) + 1) | 0;
      if (Atomics.load(a, USERS) !== next) this.#wake(next); // a writer may wait for it
      return;
    }
    Atomics.add(a, WRITES, 1);
    Atomics.add(a, WRITE, 1);
    this.#admitReaders((Atomics.add(a, READ, 1) + 1) | 0);
  }

  /** Notes that reader `ticket` waits, so that whoever reaches its turn lets it in. */
  #register(ticket: number): void {
    Atomics.store(this.#readers, ticket & (SLOTS - 1), ticket);
  }

  #unregister(ticket: number): void {
    Atomics.compareExchange(this.#readers, ticket & (SLOTS - 1), ticket, (ticket - 1) | 0);
  }

  /**
   * Bumps ticket's wake-up slot and wakes whoever sleeps on it. A sleeper
   * counts itself before it reads the slot and checks its turn: if the count
   * read here is 0, the sleeper's check comes after this turn was given.
   */
  #wake(ticket: number): void {
    const slot = ticket & (SLOTS - 1);
    Atomics.add(this.#slots, slot, 1);
    if (Atomics.load(this.#sleepers, slot) !== 0) Atomics.notify(this.#slots, slot);
  }

  /** Whether READ has reached reader `ticket` (admitted, or its own to take). */
  #readTurn(ticket: number): boolean {
    return ((Atomics.load(this.#a, READ) - ticket) | 0) >= 0;
  }

  /** Waits, without blocking, until ticket's wake-up slot is bumped, unless `ready()`. */
  async #wait(ticket: number, ready: () => boolean): Promise<void> {
    const slot = ticket & (SLOTS - 1);
    Atomics.add(this.#sleepers, slot, 1);
    try {
      const seen = Atomics.load(this.#slots, slot);
      // Checked after reading the slot: a turn given in between is seen.
      if (ready()) return;
      const result = Atomics.waitAsync(this.#slots, slot, seen);
      if (!result.async) return;
      if (pendingWaits++ === 0) keepAlive = setInterval(() => {}, 1 << 30);
      try {
        await result.value;
      } finally {
        if (--pendingWaits === 0) clearInterval(keepAlive);
      }
    } finally {
      Atomics.sub(this.#sleepers, slot, 1);
    }
  }

  /** Blocks until ticket's wake-up slot is bumped, unless `ready()`. */
  #block(ticket: number, ready: () => boolean): void {
    const slot = ticket & (SLOTS - 1);
    Atomics.add(this.#sleepers, slot, 1);
    try {
      const seen = Atomics.load(this.#slots, slot);
      if (ready()) return;
      Atomics.wait(this.#slots, slot, seen);
    } finally {
      Atomics.sub(this.#sleepers, slot, 1);
    }
  }
}

/** Whether `done()` comes true within `micros` of polling. */
function spin(done: () => boolean, micros: number): boolean {
  if (micros <= 0) return false;
  const end = performance.now() + micros / 1000;
  do {
    for (let i = 0; i < 64; i++) {
      if (done()) return true;
    }
  } while (performance.now() < end);
  return false;
}

/** One read ticket held by several readers of one thread; the last to release ends the turn. */
class ReadShare {
  readonly ticket: number;
  /** Settles once the ticket is in. */
  readonly entered: Promise<RwLockGuard>;
  #holders = 0;

  constructor(ticket: number, entered: Promise<RwLockGuard>) {
    this.ticket = ticket;
    this.entered = entered;
  }

  /** A guard of one more reader on this ticket, once it is in. */
  async join(): Promise<RwLockGuard> {
    this.#holders++;
    const turn = await this.entered;
    let held = true;
    const release = () => {
      if (!held) return;
      held = false;
      if (--this.#holders === 0) turn.release();
    };
    return { release, [Symbol.dispose]: release };
  }
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
