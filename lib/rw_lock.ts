/** A waiter queued on an {@linkcode RwLock}. */
interface Waiter {
  write: boolean;
  resolve: () => void;
  next: Waiter | undefined;
}

/**
 * A held share of an {@linkcode RwLock}; release it once, or let `using`
 * release it at the end of the scope.
 */
export interface RwLockGuard extends Disposable {
  /** Releases the share. Releasing twice does nothing. */
  release(): void;
}

/**
 * A writer-preferring read/write lock.
 *
 * Any number of readers may hold it together; a writer holds it alone.
 * Waiters are served first in, first out, and a waiting writer blocks readers
 * that arrive after it, so writers never starve (like Go's `sync.RWMutex`).
 * {@linkcode RwLock.tryRead} and {@linkcode RwLock.tryWrite} are synchronous
 * fast paths that cost no Promise.
 *
 * JavaScript runs one command at a time, so a synchronous store operation
 * needs no lock; the lock orders work that holds the store across `await`s
 * (for example an embedder's bulk load) against the command dispatchers.
 *
 * @example Usage
 * ```ts
 * import { RwLock } from "./rw_lock.ts";
 * import assert from "node:assert/strict";
 *
 * const lock = new RwLock();
 * {
 *   using _write = await lock.write();
 *   assert(lock.tryRead() === undefined); // readers wait for the writer
 * }
 * const read = lock.tryRead();
 * assert(read !== undefined);
 * read.release();
 * ```
 */
export class RwLock {
  #readers = 0;
  #writer = false;
  #head: Waiter | undefined;
  #tail: Waiter | undefined;

  /** Number of readers holding the lock now. */
  get readers(): number {
    return this.#readers;
  }

  /** Whether a writer holds the lock now. */
  get writing(): boolean {
    return this.#writer;
  }

  /** Number of callers waiting for the lock. */
  get waiting(): number {
    let n = 0;
    for (let w = this.#head; w; w = w.next) n++;
    return n;
  }

  /**
   * Takes a read share at once when no writer holds or awaits the lock.
   *
   * @returns A guard, or `undefined` when the caller would have to wait.
   */
  tryRead(): RwLockGuard | undefined {
    if (this.#writer || this.#head) return undefined;
    this.#readers++;
    return this.#guard(false);
  }

  /**
   * Takes the lock for writing at once when nobody holds or awaits it.
   *
   * @returns A guard, or `undefined` when the caller would have to wait.
   */
  tryWrite(): RwLockGuard | undefined {
    if (this.#writer || this.#readers > 0 || this.#head) return undefined;
    this.#writer = true;
    return this.#guard(true);
  }

  /** Waits for a read share, behind every earlier waiter. */
  read(): Promise<RwLockGuard> {
    const guard = this.tryRead();
    if (guard) return Promise.resolve(guard);
    return this.#enqueue(false);
  }

  /** Waits for the lock alone, behind every earlier waiter. */
  write(): Promise<RwLockGuard> {
    const guard = this.tryWrite();
    if (guard) return Promise.resolve(guard);
    return this.#enqueue(true);
  }

  #enqueue(write: boolean): Promise<RwLockGuard> {
    return new Promise((resolve) => {
      const waiter: Waiter = {
        write,
        resolve: () => resolve(this.#guard(write)),
        next: undefined,
      };
      if (this.#tail) this.#tail.next = waiter;
      else this.#head = waiter;
      this.#tail = waiter;
    });
  }

  #guard(write: boolean): RwLockGuard {
    let held = true;
    const release = () => {
      if (!held) return;
      held = false;
      if (write) this.#writer = false;
      else this.#readers--;
      this.#wake();
    };
    return { release, [Symbol.dispose]: release };
  }

  /** Hands the lock to the waiters at the head of the queue that may hold it now. */
  #wake(): void {
    while (this.#head && !this.#writer) {
      const waiter = this.#head;
      if (waiter.write && this.#readers > 0) return;
      this.#head = waiter.next;
      if (!this.#head) this.#tail = undefined;
      if (waiter.write) this.#writer = true;
      else this.#readers++;
      waiter.resolve();
      if (waiter.write) return;
    }
  }
}
