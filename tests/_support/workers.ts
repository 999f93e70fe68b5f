/**
 * Starts workers running `shared_worker.ts` tasks and collects their
 * answers; every worker is terminated when its test is done.
 *
 * @module
 */
import type { Task } from "./shared_worker.ts";

/** What a worker answers: a result, that it is ready, or its error. */
interface Answer {
  result?: number;
  ready?: boolean;
  error?: string;
}

/** A started test worker. */
export interface TestWorker extends Disposable {
  /** Sends a message (a task, or a command of the queue task). */
  send(message: Task | string): void;
  /** The next answer; rejects with the worker's error. */
  answer(): Promise<{ result?: number; ready?: boolean }>;
}

/** Starts a worker of `shared_worker.ts`. */
export function startWorker(): TestWorker {
  const worker = new Worker(new URL("./shared_worker.ts", import.meta.url).href, {
    type: "module",
  });
  const answers: Answer[] = [];
  const waiting: ((answer: Answer) => void)[] = [];
  worker.onmessage = (event) => {
    const resolve = waiting.shift();
    if (resolve) resolve(event.data);
    else answers.push(event.data);
  };
  worker.onerror = (event) => {
    event.preventDefault();
    const resolve = waiting.shift();
    resolve?.({ error: event.message });
  };
  return {
    send: (message) => worker.postMessage(message),
    async answer() {
      const answer = answers.shift() ??
        await new Promise<Answer>((resolve) => waiting.push(resolve));
      if (answer.error) throw new Error(`Worker failed: ${answer.error}`);
      return answer;
    },
    [Symbol.dispose]: () => worker.terminate(),
  };
}

/** Runs one task per worker (`tasks[i]` on worker i) and returns their results. */
export async function runTasks(tasks: Task[]): Promise<number[]> {
  const workers = tasks.map(() => startWorker());
  try {
    tasks.forEach((task, i) => workers[i].send(task));
    const answers = await Promise.all(workers.map((w) => w.answer()));
    return answers.map((a) => a.result!);
  } finally {
    for (const w of workers) w[Symbol.dispose]();
  }
}

/** Resolves once `condition` holds, checking every few milliseconds (fails after `ms`). */
export async function until(condition: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > end) throw new Error(`Timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** `promise`, or a rejection naming `what` after `ms`: a lost wake-up fails instead of hanging. */
export async function within<T>(promise: Promise<T>, what: string, ms = 10_000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Timed out waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
