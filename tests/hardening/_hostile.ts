/**
 * Shared helpers for the hardening tests: hostile frames and a fresh-client
 * liveness probe.
 *
 * @module
 */
import assert from "node:assert/strict";
import { binaryRequest, latin1, RawClient, toLatin1 } from "../_support/raw_client.ts";

/** A binary request header with arbitrary (possibly lying) length fields. */
export function header(
  opcode: number,
  keyLength: number,
  extrasLength: number,
  bodyLength: number,
  opaque = 0xdeadbeef,
): Uint8Array {
  const out = new Uint8Array(24);
  const view = new DataView(out.buffer);
  out[0] = 0x80;
  out[1] = opcode;
  view.setUint16(2, keyLength);
  out[4] = extrasLength;
  view.setUint32(8, bodyLength >>> 0);
  view.setUint32(12, opaque);
  return out;
}

/** A binary response as memcached builds an error: no extras, no key, `text` as the body. */
export function errorReply(opcode: number, status: number, text: string, opaque = 0xdeadbeef) {
  const body = latin1(text);
  const out = new Uint8Array(24 + body.length);
  const view = new DataView(out.buffer);
  out[0] = 0x81;
  out[1] = opcode;
  view.setUint16(6, status);
  view.setUint32(8, body.length);
  view.setUint32(12, opaque);
  out.set(body, 24);
  return out;
}

/** Joins byte arrays and byte strings. */
export function bytes(...parts: (Uint8Array | string)[]): Uint8Array {
  const arrays = parts.map((p) => typeof p === "string" ? latin1(p) : p);
  const out = new Uint8Array(arrays.reduce((n, a) => n + a.length, 0));
  let pos = 0;
  for (const a of arrays) {
    out.set(a, pos);
    pos += a.length;
  }
  return out;
}

/** A fresh client must get a binary VERSION answer within `timeoutMs`. */
export async function assertAnswers(port: number, timeoutMs = 1000): Promise<void> {
  await using client = await RawClient.connect(port);
  await client.send(binaryRequest({ opcode: 0x0b, opaque: 42 }));
  const reply = await client.readBinary(timeoutMs);
  assert.equal(reply.status, 0);
  assert.equal(reply.opaque, 42);
}

/** Sends `data`, then collects everything until the peer closes or `quietMs` passes. */
export async function exchange(
  port: number,
  data: Uint8Array | string,
  quietMs = 300,
): Promise<{ reply: string; closed: boolean }> {
  await using client = await RawClient.connect(port);
  await client.send(data);
  const closed = await client.closedByPeer(quietMs);
  return { reply: toLatin1(client.pending), closed };
}
