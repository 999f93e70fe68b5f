import { metaArithmeticCommand } from "../commands/meta_arithmetic_command.ts";
import { metaDebugCommand } from "../commands/meta_debug_command.ts";
import { metaDeleteCommand } from "../commands/meta_delete_command.ts";
import type { MetaFlags } from "../commands/meta_flags.ts";
import { metaGetCommand } from "../commands/meta_get_command.ts";
import { storeCommand } from "../commands/store_command.ts";
import { KEY_MAX_LENGTH } from "../constants.ts";
import type { StoreMode } from "../store.ts";
import { base64Decode } from "./base64_decode.ts";
import { MAX_OPAQUE_LENGTH, parseMetaFlags } from "./parse_meta_flags.ts";
import type { TextCall } from "./text_call.ts";

/** memcached's `MFLAG_MAX_OPT_LENGTH`: most tokens a meta command may have. */
const MAX_OPT_TOKENS = 20;
const OPAQUE_TOO_LONG = "CLIENT_ERROR opaque token too long";
const BAD_FORMAT = "CLIENT_ERROR bad command line format";

/** A meta reply was abandoned for an error line (memcached's `goto error`). */
class MetaError {
  constructor(readonly line: string) {}
}

/**
 * Runs one meta command (`mn`, `mg`, `ms`, `md`, `ma`, `me`; any other
 * two-letter `m?` is `ERROR`) as memcached 1.6.18 does: checks its line and
 * flags, runs it through the command layer, and spells the result with the
 * flags the client asked for, in their order.
 *
 * @example Usage
 * ```ts
 * import { CommandContext } from "../command_context.ts";
 * import { ConnectionState } from "../connection_state.ts";
 * import { executeMeta } from "./execute_meta.ts";
 * import { TextCall } from "./text_call.ts";
 * import assert from "node:assert/strict";
 *
 * const connection = new ConnectionState({ id: 1, context: new CommandContext() });
 * const out = connection.begin();
 * executeMeta(new TextCall({ kind: "text", words: ["mg", "k", "v"] }, connection));
 * assert.deepEqual(out, [{ kind: "text", parts: ["EN\r\n"] }]);
 * ```
 */
export function executeMeta(call: TextCall): void {
  const op = call.words[0][1];
  if (op === "n") return call.reply("MN");
  if (op === "e") return metaDebug(call);
  if (op !== "g" && op !== "s" && op !== "d" && op !== "a") return call.reply("ERROR");
  if (call.tokenCount < 3) return call.reply("ERROR");
  try {
    switch (op) {
      case "g":
        return metaGet(call);
      case "s":
        return metaSet(call);
      case "d":
        return metaDelete(call);
      case "a":
        return metaArithmetic(call);
    }
  } catch (err) {
    if (!(err instanceof MetaError)) throw err;
    call.replyAlways(err.line);
  }
}

/** memcached's `META_KEY`: the key, base64 with a ` b` after it when binary. */
function metaKey(key: string, binary: boolean): string {
  return binary ? ` k${btoa(key)} b` : ` k${key}`;
}

function opaque(token: string): string {
  if (token.length > MAX_OPAQUE_LENGTH) throw new MetaError(OPAQUE_TOO_LONG);
  return " " + token;
}

/** The ` O…` and ` k…` flags of a reply without an item (miss, `EX`, `NF`). */
function opaqueAndKey(call: TextCall, f: MetaFlags): string {
  const words = call.words;
  let flags = "";
  for (let i = 2; i < words.length; i++) {
    if (words[i][0] === "O") flags += opaque(words[i]);
    else if (words[i][0] === "k") flags += metaKey(f.key, f.keyBinary);
  }
  return flags;
}

/**
 * Checks the key length and the token count, then reads the flags from
 * `words[start..]`; on a failure the error is answered and `undefined`
 * returned. `badFlags` replaces the parser's own error line when given.
 */
function readFlags(
  call: TextCall,
  checks: { start: number; tooLong: string; badFlags?: string },
): MetaFlags | undefined {
  if (call.words[1].length > KEY_MAX_LENGTH) {
    call.replyAlways(BAD_FORMAT);
    return undefined;
  }
  if (call.tokenCount > MAX_OPT_TOKENS) {
    call.replyAlways(checks.tooLong);
    return undefined;
  }
  return parseFlags(call, checks);
}

function parseFlags(call: TextCall, checks: { start: number; badFlags?: string }) {
  const parsed = parseMetaFlags(call.words, checks.start);
  if (!parsed.ok) {
    call.replyAlways(checks.badFlags ?? parsed.error);
    return undefined;
  }
  call.noreply = parsed.flags.noReply;
  return parsed.flags;
}

function metaGet(call: TextCall): void {
  const words = call.words;
  const f = readFlags(call, { start: 2, tooLong: "CLIENT_ERROR options flags are too long" });
  if (!f) return;
  const result = call.connection.context.run(metaGetCommand, f);
  if (result.status === "miss") return call.reply("EN" + opaqueAndKey(call, f));
  if (result.status === "opaque_too_long") throw new MetaError(OPAQUE_TOO_LONG);
  const { item } = result;
  let line = f.value ? `VA ${item.value.length}` : "HD";
  for (let i = 2; i < words.length; i++) {
    const token = words[i];
    switch (token[0]) {
      case "s":
        line += ` s${item.value.length}`;
        break;
      case "t":
        line += ` t${result.ttl}`;
        break;
      case "c":
        line += ` c${item.cas}`;
        break;
      case "f":
        line += ` f${item.flags}`;
        break;
      case "l":
        line += ` l${result.age}`;
        break;
      case "h":
        line += result.fetched ? " h1" : " h0";
        break;
      case "O":
        line += " " + token;
        break;
      case "k":
        line += metaKey(f.key, result.binaryKey);
        break;
    }
  }
  if (result.tokenSent) line += " Z";
  if (result.stale) line += " X";
  if (result.won) line += " W";
  const parts: (string | Uint8Array)[] = [line + "\r\n"];
  if (f.value) parts.push(item.value, "\r\n");
  call.send({ kind: "text", parts });
}

const MS_MODES: Readonly<Record<string, StoreMode>> = {
  "": "set",
  S: "set",
  E: "add",
  A: "append",
  P: "prepend",
  R: "replace",
};

const MS_REPLIES = {
  stored: "HD",
  exists: "EX",
  not_found: "NF",
  not_stored: "NS",
} as const;

function metaSet(call: TextCall): void {
  const { req, words } = call;
  if (words[1].length > KEY_MAX_LENGTH || words.length === 2) return call.replyAlways(BAD_FORMAT);
  if (call.tokenCount > MAX_OPT_TOKENS) {
    return call.replyAlways("CLIENT_ERROR options flags too long");
  }
  if (req.storage === undefined) return call.replyAlways(BAD_FORMAT); // no valid length
  // From here the parser read (or swallowed) the data block.
  const f = parseFlags(call, { start: 3 });
  if (!f) return;
  let opaqueError = false;
  for (let i = 3; i < words.length; i++) {
    if (words[i][0] === "O" && words[i].length > MAX_OPAQUE_LENGTH) opaqueError = true;
  }
  let mode = MS_MODES[f.mode];
  if (mode === undefined) return call.replyAlways("CLIENT_ERROR invalid mode for ms M token");
  if (f.hasCas && (mode === "set" || mode === "replace")) mode = "cas";
  if (opaqueError) return call.replyAlways(OPAQUE_TOO_LONG);
  const result = call.connection.context.run(storeCommand, {
    mode,
    key: f.key,
    value: req.block === "too_large" ? undefined : req.data,
    flags: f.clientFlags,
    exptime: f.exptime,
    // `add` ignores the CAS.
    cas: mode === "add" ? 0 : Number(f.reqCas),
    badChunk: req.block !== "ok",
    // memcached unlinks the old value whatever the mode.
    unlinkIfTooLarge: true,
    invalidate: f.setStale,
    binaryKey: f.keyBinary,
  });
  switch (result.status) {
    case "too_large":
      return call.replyAlways("SERVER_ERROR object too large for cache");
    case "no_memory":
      return call.replyAlways("SERVER_ERROR out of memory storing object");
    case "bad_chunk":
      return call.replyAlways("CLIENT_ERROR bad data chunk");
  }
  let line: string = MS_REPLIES[result.status];
  for (let i = 3; i < words.length; i++) {
    const token = words[i];
    if (token[0] === "O") line += " " + token;
    else if (token[0] === "k") line += metaKey(f.key, f.keyBinary);
    else if (token[0] === "c") line += ` c${result.item ? result.item.cas : 0}`;
  }
  if (result.status === "stored") call.reply(line);
  else call.replyAlways(line);
}

function metaDelete(call: TextCall): void {
  const f = readFlags(call, {
    start: 2,
    tooLong: "CLIENT_ERROR options flags too long",
    badFlags: "CLIENT_ERROR invalid or duplicate flag",
  });
  if (!f) return;
  const flags = opaqueAndKey(call, f);
  const result = call.connection.context.run(metaDeleteCommand, {
    key: f.key,
    cas: f.hasCas ? Number(f.reqCas) : undefined,
    invalidate: f.setStale,
    exptime: f.newTtl ? f.exptime : undefined,
  });
  switch (result.status) {
    case "not_found":
      return call.replyAlways("NF" + flags);
    case "exists":
      return call.replyAlways("EX" + flags);
    case "deleted":
      return call.reply("HD" + flags);
  }
}

function metaArithmetic(call: TextCall): void {
  const words = call.words;
  const f = readFlags(call, {
    start: 2,
    tooLong: "CLIENT_ERROR options flags too long",
    badFlags: "CLIENT_ERROR invalid or duplicate flag",
  });
  if (!f) return;
  let op: "incr" | "decr";
  if (f.mode === "" || f.mode === "I" || f.mode === "+") op = "incr";
  else if (f.mode === "D" || f.mode === "-") op = "decr";
  else return call.replyAlways("CLIENT_ERROR invalid mode for ma M token");
  const result = call.connection.context.run(metaArithmeticCommand, { meta: f, op });
  switch (result.status) {
    case "non_numeric":
      return call.replyAlways("CLIENT_ERROR cannot increment or decrement non-numeric value");
    case "no_memory":
      return call.replyAlways("SERVER_ERROR out of memory");
    case "not_created":
      return call.replyAlways("SERVER_ERROR Out of memory allocating new item");
    case "opaque_too_long":
      throw new MetaError(OPAQUE_TOO_LONG);
    case "exists":
      return call.replyAlways("EX" + opaqueAndKey(call, f));
    case "not_found":
      return call.replyAlways("NF" + opaqueAndKey(call, f));
  }
  const { item, created } = result;
  const digits = result.value.toString();
  let line = f.value ? `VA ${digits.length}` : "HD";
  for (let i = 2; i < words.length; i++) {
    const token = words[i];
    switch (token[0]) {
      case "c":
        line += ` c${item.cas}`;
        break;
      case "t":
        line += ` t${result.ttl}`;
        break;
      case "O":
        line += " " + token;
        break;
      case "k":
        line += metaKey(f.key, f.keyBinary);
        break;
    }
  }
  if (f.value) line += "\r\n" + digits;
  // `q` hides a success, but not a counter it created.
  if (!call.noreply || created) call.replyAlways(line);
}

function metaDebug(call: TextCall): void {
  const words = call.words;
  const nt = call.tokenCount;
  if (nt < 3 || words[1].length > KEY_MAX_LENGTH) return call.reply(BAD_FORMAT);
  let key = words[1];
  if (nt >= 4 && words[2] === "b") {
    const decoded = base64Decode(key);
    if (decoded === undefined) return call.reply(BAD_FORMAT);
    key = decoded;
  }
  const result = call.connection.context.run(metaDebugCommand, { key });
  if (result.status === "miss") return call.reply("EN");
  const shown = result.binaryKey ? btoa(key) : key;
  call.reply(
    `ME ${shown} exp=${result.exp} la=${result.lastAccess} cas=${result.cas} fetch=${
      result.fetched ? "yes" : "no"
    } cls=${result.slabClass} size=${result.size}`,
  );
}
