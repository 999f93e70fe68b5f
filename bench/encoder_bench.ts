/**
 * FrameEncoder's batch encoding: a batch of 50 GETK hits (a multi-get) and a
 * single GET hit (one request in flight).
 *
 * @module
 */
import { encodeBatch } from "../lib/frame_encoder.ts";
import type { Response } from "../lib/messages.ts";

const value = new Uint8Array(1024).fill(0x61);

function hit(i: number): Response {
  return {
    kind: "binary",
    opcode: 0x0c,
    status: 0,
    opaque: i,
    cas: 1000 + i,
    flags: 0,
    key: `key:${String(i).padStart(28, "0")}`,
    value,
  };
}

const mget: Response[] = Array.from({ length: 50 }, (_, i) => hit(i));
mget.push({ kind: "binary", opcode: 0x0a, status: 0, opaque: 0, cas: 0, key: "", value: "" });
const one: Response[] = [hit(1)];
const text: Response[] = Array.from({ length: 50 }, (_, i) => ({
  kind: "text" as const,
  parts: [`VALUE key:${String(i).padStart(28, "0")} 0 1024\r\n`, value, "\r\n"],
}));

Deno.bench("encodeBatch, 50 binary GETK hits + NOOP", { group: "encoder", baseline: true }, () => {
  encodeBatch(mget);
});

Deno.bench("encodeBatch, 50 text VALUE hits", { group: "encoder" }, () => {
  encodeBatch(text);
});

Deno.bench("encodeBatch, one binary GET hit", { group: "encoder" }, () => {
  encodeBatch(one);
});
