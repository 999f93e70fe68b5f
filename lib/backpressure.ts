/**
 * Waits until a TransformStream's readable side has room again (everything
 * enqueued so far taken downstream), so a transformer that emits a lot for
 * one input can pace itself by the consumer.
 *
 * @returns `false` when the stream ended (nothing more should be enqueued).
 *
 * @example Usage
 * ```ts
 * import { drained } from "./backpressure.ts";
 * import assert from "node:assert/strict";
 *
 * const stream = new TransformStream<number, number>({
 *   async transform(n, controller) {
 *     for (let i = 0; i < n; i++) {
 *       controller.enqueue(i);
 *       if (!(await drained(controller))) return;
 *     }
 *   },
 * });
 * const out = await Array.fromAsync(ReadableStream.from([3]).pipeThrough(stream));
 * assert.deepEqual(out, [0, 1, 2]);
 * ```
 */
export async function drained(
  controller: TransformStreamDefaultController<unknown>,
): Promise<boolean> {
  let delay = 0;
  while (true) {
    const size = controller.desiredSize;
    if (size === null) return false;
    if (size >= 0) return true;
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(50, delay * 2 + 1);
  }
}
