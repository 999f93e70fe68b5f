/**
 * What `mbserver_command_duration_seconds` measures: from the dispatcher
 * taking a request up to its reply queued for the writer, including the time
 * it waited for the store lock. Timed with an injected clock.
 */
import assert from "node:assert/strict";
import { CommandContext } from "../../lib/command_context.ts";
import { Dispatcher } from "../../lib/dispatcher.ts";
import type { Request, ResponseBatch } from "../../lib/messages.ts";
import { COMMAND_NAMES } from "../../lib/metrics/command_series.ts";
import { LatencyHistogram } from "../../lib/metrics/latency_histogram.ts";
import { RwLock } from "../../lib/rw_lock.ts";

const GET = COMMAND_NAMES.indexOf("get");
const VERSION = COMMAND_NAMES.indexOf("version");

function getRequest(key: string): Request {
  return { kind: "text", words: ["get", key], keys: [new TextEncoder().encode(key)] };
}

Deno.test("A request's duration counts the time it waited for the store lock", async () => {
  const lock = new RwLock();
  const durations = new LatencyHistogram({ series: COMMAND_NAMES.length });
  let clock = 1_000;
  const dispatcher = new Dispatcher(new CommandContext(), lock, { durations, now: () => clock });
  const writer = dispatcher.writable.getWriter();
  const reader = dispatcher.readable.getReader();
  const held = lock.tryWrite()!;
  const written = writer.write([{ kind: "text", words: ["version"], keys: [] }, getRequest("k")]);
  const first: ResponseBatch = (await reader.read()).value!;
  assert.equal(first.length, 1, "version answered; the get waits for the lock");
  clock += 30; // the get waits 30 ms for the writer to go
  held.release();
  const second: ResponseBatch = (await reader.read()).value!;
  assert.equal(second.length, 1);
  await written;
  const get = durations.snapshot(GET);
  assert.equal(get.count, 1);
  assert.equal(get.sum, 30_000, "the 30 ms of waiting, in microseconds");
  assert.deepEqual(durations.snapshot(VERSION), {
    ...durations.snapshot(VERSION),
    count: 1,
    sum: 0,
  });
  await writer.close();
});
