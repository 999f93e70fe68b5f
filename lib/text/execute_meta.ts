import type { DeltaResult, Item, Store, StoreMode } from "../store.ts";
import { EMPTY } from "../bytes.ts";
import { KEY_MAX_LENGTH } from "../constants.ts";
import { base64Decode } from "./base64_decode.ts";
import { reply, replyAlways, type TextCall, tokenCount } from "./execute_text.ts";
import { type MetaFlags, parseMetaFlags } from "./meta_flags.ts";

/** memcached's `MFLAG_MAX_OPT_LENGTH`: most tokens a meta command may have. */
const MAX_OPT_TOKENS = 20;
/** memcached's `MFLAG_MAX_OPAQUE_LENGTH`. */
const MAX_OPAQUE = 32;
const OPAQUE_TOO_LONG = "CLIENT_ERROR opaque token too long";
const BAD_FORMAT = "CLIENT_ERROR bad command line format";

/** A meta reply was abandoned for an error line (memcached's `goto error`). */
class MetaError {
  constructor(readonly line: string) {}
}

/**
 * Runs one meta command (`mn`, `mg`, `ms`, `md`, `ma`, `me`; any other
 * two-letter `m?` is `ERROR`) as memcached 1.6.18 does.
 *
 * @example Usage
 * ```ts ignore
 * executeMeta({ req: { kind: "text", words: ["mn"] }, ctx, out, noreply: false });
 * ```
 */
export function executeMeta(call: TextCall): void {
  const words = call.req.words;
  const op = words[0][1];
  if (op === "n") return reply(call, "MN");
  if (op === "e") return metaDebug(call);
  if (op !== "g" && op !== "s" && op !== "d" && op !== "a") return reply(call, "ERROR");
  if (tokenCount(words) < 3) return reply(call, "ERROR");
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
    replyAlways(call, err.line);
  }
}

/** memcached's `META_KEY`: the key, base64 with a ` b` after it when binary. */
function metaKey(key: string, binary: boolean): string {
  return binary ? ` k${btoa(key)} b` : ` k${key}`;
}

function opaque(token: string): string {
  if (token.length > MAX_OPAQUE) throw new MetaError(OPAQUE_TOO_LONG);
  return " " + token;
}

/** Seconds left, as memcached's `t` flag prints them (-1 for never). */
function ttl(item: Item, now: number): string {
  return item.exptime === 0 ? "-1" : String((item.exptime - now) >>> 0);
}

function checkHeader(call: TextCall, tooLong: string): MetaFlags | undefined {
  const words = call.req.words;
  if (words[1].length > KEY_MAX_LENGTH) {
    replyAlways(call, BAD_FORMAT);
    return undefined;
  }
  if (tokenCount(words) > MAX_OPT_TOKENS) {
    replyAlways(call, tooLong);
    return undefined;
  }
  return parseFlagsOr(call, 2, undefined);
}

function parseFlagsOr(call: TextCall, start: number, error: string | undefined) {
  const parsed = parseMetaFlags(call.req.words, start);
  if (!parsed.ok) {
    replyAlways(call, error ?? parsed.error);
    return undefined;
  }
  call.noreply = parsed.flags.noReply;
  return parsed.flags;
}

function metaGet(call: TextCall): void {
  const { req, ctx } = call;
  const { store } = ctx;
  const c = ctx.stats.c;
  const words = req.words;
  const f = checkHeader(call, "CLIENT_ERROR options flags are too long");
  if (!f) return;
  const key = f.key;
  let item = f.locked || f.noUpdate ? store.peek(key) : store.get(key);
  let created = false;
  if (!item && f.vivify) {
    item = store.store("add", key, EMPTY, 0, 0).item;
    created = item !== undefined;
  }
  let ttlSet = false;
  if (!item) {
    c.cmd_get++;
    c.get_misses++;
    let line = "EN";
    for (let i = 2; i < words.length; i++) {
      if (words[i][0] === "O") line += opaque(words[i]);
      else if (words[i][0] === "k") line += metaKey(key, f.keyBinary);
    }
    return reply(call, line);
  }
  const now = store.now();
  let won = false;
  let line = f.value ? `VA ${item.value.length}` : "HD";
  for (let i = 2; i < words.length; i++) {
    const token = words[i];
    switch (token[0]) {
      case "T":
        ttlSet = true;
        store.setExpiry(item, store.expiry(f.exptime));
        break;
      case "N":
        if (created) {
          store.setExpiry(item, store.expiry(f.autovivExptime));
          won = true;
        }
        break;
      case "R":
        if (
          !item.tokenSent && !created && item.exptime !== 0 &&
          item.exptime < store.expiry(f.recacheTime)
        ) {
          won = true;
        }
        break;
      case "s":
        line += ` s${item.value.length}`;
        break;
      case "t":
        line += ` t${ttl(item, now)}`;
        break;
      case "c":
        line += ` c${item.cas}`;
        break;
      case "f":
        line += ` f${item.flags}`;
        break;
      case "l":
        line += ` l${(now - item.time) >>> 0}`;
        break;
      case "h":
        line += store.wasFetched(item) ? " h1" : " h0";
        break;
      case "O":
        line += opaque(token);
        break;
      case "k":
        line += metaKey(key, item.binaryKey);
        break;
    }
  }
  if (item.tokenSent) line += " Z";
  if (item.stale) {
    line += " X";
    if (!item.tokenSent) won = true;
  }
  if (won) {
    line += " W";
    item.tokenSent = true;
  }
  if (f.locked && !f.noUpdate) store.get(key); // the delayed LRU bump
  if (ttlSet) {
    c.cmd_touch++;
    c.touch_hits++;
  } else {
    c.cmd_get++;
    c.get_hits++;
  }
  const parts: (string | Uint8Array)[] = [line + "\r\n"];
  if (f.value) parts.push(item.value, "\r\n");
  call.out.push({ kind: "text", parts });
}

const MS_MODES: Readonly<Record<string, StoreMode>> = {
  "": "set",
  S: "set",
  E: "add",
  A: "append",
  P: "prepend",
  R: "replace",
};

function metaSet(call: TextCall): void {
  const { req, ctx } = call;
  const { store } = ctx;
  const c = ctx.stats.c;
  const words = req.words;
  if (words[1].length > KEY_MAX_LENGTH || words.length === 2) {
    return replyAlways(call, BAD_FORMAT);
  }
  if (tokenCount(words) > MAX_OPT_TOKENS) {
    return replyAlways(call, "CLIENT_ERROR options flags too long");
  }
  if (req.block === undefined) return replyAlways(call, BAD_FORMAT); // no valid length
  // From here the parser read (or swallowed) the data block.
  const f = parseFlagsOr(call, 3, undefined);
  if (!f) return;
  const key = f.key;
  let opaqueError = false;
  for (let i = 3; i < words.length; i++) {
    if (words[i][0] === "O" && words[i].length > MAX_OPAQUE) opaqueError = true;
  }
  let mode = MS_MODES[f.mode];
  if (mode === undefined) return replyAlways(call, "CLIENT_ERROR invalid mode for ms M token");
  if (f.hasCas && (mode === "set" || mode === "replace")) mode = "cas";
  if (opaqueError) return replyAlways(call, OPAQUE_TOO_LONG);
  const length = req.data?.length ?? Number.MAX_SAFE_INTEGER;
  if (req.block === "too_large" || store.itemSize(key, length, f.clientFlags) > store.maxItemSize) {
    c.store_too_large++;
    store.delete(key); // memcached unlinks the old value whatever the mode
    return replyAlways(call, "SERVER_ERROR object too large for cache");
  }
  c.cmd_set++;
  if (req.block !== "ok") return replyAlways(call, "CLIENT_ERROR bad data chunk");
  const { status, item } = metaStore(call, f, mode, req.data!);
  let line: string;
  switch (status) {
    case "stored":
      if (mode === "cas") c.cas_hits++;
      line = "HD";
      break;
    case "exists":
      if (mode === "cas") c.cas_badval++;
      line = "EX";
      break;
    case "not_found":
      if (mode === "cas") c.cas_misses++;
      line = "NF";
      break;
    case "not_stored":
      line = "NS";
      break;
    case "too_large":
      c.store_too_large++;
      return replyAlways(call, "SERVER_ERROR object too large for cache");
    default:
      c.store_no_memory++;
      return replyAlways(call, "SERVER_ERROR out of memory storing object");
  }
  // Append and prepend build a fresh item, which does not keep the binary-key mark.
  if (item && f.keyBinary && mode !== "append" && mode !== "prepend") item.binaryKey = true;
  for (let i = 3; i < words.length; i++) {
    const token = words[i];
    if (token[0] === "O") line += " " + token;
    else if (token[0] === "k") line += metaKey(key, f.keyBinary);
    else if (token[0] === "c") line += ` c${item ? item.cas : 0}`;
  }
  if (status === "stored") reply(call, line);
  else replyAlways(call, line);
}

/** Stores for `ms`, with its CAS rules: add ignores the CAS; `I` may store a stale value. */
function metaStore(call: TextCall, f: MetaFlags, mode: StoreMode, data: Uint8Array) {
  const { store } = call.ctx;
  const cas = Number(f.reqCas);
  if (mode === "cas" && f.setStale) {
    const old = store.peek(f.key);
    if (old && f.reqCas !== 0n && old.cas !== cas && f.reqCas < BigInt(old.cas)) {
      // An older CAS may still store, marked stale, keeping the old expiry.
      const { exptime, tokenSent } = old;
      const result = store.store("set", f.key, data, f.clientFlags, 0);
      if (result.item) {
        store.setExpiry(result.item, exptime);
        result.item.stale = true;
        result.item.tokenSent = tokenSent;
      }
      return result;
    }
  }
  return store.store(mode, f.key, data, f.clientFlags, f.exptime, mode === "add" ? 0 : cas);
}

/**
 * md and ma start alike: key length, token count, then the flags; on a
 * failure the error is answered and `undefined` returned.
 */
function keyAndFlags(call: TextCall): ReturnType<typeof parseFlagsOr> {
  const words = call.req.words;
  if (words[1].length > KEY_MAX_LENGTH) {
    replyAlways(call, BAD_FORMAT);
    return undefined;
  }
  if (tokenCount(words) > MAX_OPT_TOKENS) {
    replyAlways(call, "CLIENT_ERROR options flags too long");
    return undefined;
  }
  return parseFlagsOr(call, 2, "CLIENT_ERROR invalid or duplicate flag");
}

function metaDelete(call: TextCall): void {
  const { req, ctx } = call;
  const { store } = ctx;
  const c = ctx.stats.c;
  const words = req.words;
  const f = keyAndFlags(call);
  if (!f) return;
  let flags = "";
  for (let i = 2; i < words.length; i++) {
    if (words[i][0] === "O") flags += opaque(words[i]);
    else if (words[i][0] === "k") flags += metaKey(f.key, f.keyBinary);
  }
  const item = store.peek(f.key);
  if (!item) {
    c.delete_misses++;
    return replyAlways(call, "NF" + flags);
  }
  if (f.hasCas && BigInt(item.cas) !== f.reqCas) {
    c.delete_misses++;
    return replyAlways(call, "EX" + flags);
  }
  if (f.setStale) {
    if (f.newTtl) store.setExpiry(item, store.expiry(f.exptime));
    item.stale = true;
    item.tokenSent = false;
    store.renewCas(item);
  } else {
    c.delete_hits++;
    store.delete(f.key);
  }
  reply(call, "HD" + flags);
}

function metaArithmetic(call: TextCall): void {
  const { req, ctx } = call;
  const { store } = ctx;
  const c = ctx.stats.c;
  const words = req.words;
  const f = keyAndFlags(call);
  if (!f) return;
  let incr: boolean;
  if (f.mode === "" || f.mode === "I" || f.mode === "+") incr = true;
  else if (f.mode === "D" || f.mode === "-") incr = false;
  else return replyAlways(call, "CLIENT_ERROR invalid mode for ma M token");
  const key = f.key;
  const result = deltaInPlace(store, key, incr, f.delta, Number(f.reqCas));
  let item: Item | undefined;
  let digits = "";
  let created = false;
  let line = "";
  let quiet = false;
  switch (result.status) {
    case "ok":
      quiet = call.noreply;
      item = result.item;
      digits = result.value!.toString();
      if (incr) c.incr_hits++;
      else c.decr_hits++;
      break;
    case "non_numeric":
      return replyAlways(call, "CLIENT_ERROR cannot increment or decrement non-numeric value");
    case "no_memory":
      return replyAlways(call, "SERVER_ERROR out of memory");
    case "exists":
      line = "EX";
      break;
    case "not_found":
      if (f.vivify) {
        digits = f.initial.toString();
        const stored = store.store("add", key, new TextEncoder().encode(digits), 0, 0);
        if (!stored.item) {
          return replyAlways(call, "SERVER_ERROR Out of memory allocating new item");
        }
        item = stored.item;
        created = true;
      } else {
        if (incr) c.incr_misses++;
        else c.decr_misses++;
        line = "NF";
      }
      break;
  }
  if (item) {
    const now = store.now();
    line = f.value ? `VA ${digits.length}` : "HD";
    for (let i = 2; i < words.length; i++) {
      const token = words[i];
      switch (token[0]) {
        case "c":
          line += ` c${item.cas}`;
          break;
        case "t":
          line += ` t${ttl(item, now)}`;
          break;
        case "T":
          store.setExpiry(item, store.expiry(f.exptime));
          break;
        case "N":
          if (created) store.setExpiry(item, store.expiry(f.autovivExptime));
          break;
        case "O":
          line += opaque(token);
          break;
        case "k":
          line += metaKey(key, f.keyBinary);
          break;
      }
    }
    if (f.value) line += "\r\n" + digits;
  } else {
    for (let i = 2; i < words.length; i++) {
      if (words[i][0] === "O") line += opaque(words[i]);
      else if (words[i][0] === "k") line += metaKey(key, f.keyBinary);
    }
  }
  if (!quiet) replyAlways(call, line);
}

/**
 * Runs `store.delta` keeping what memcached keeps when it rewrites a counter
 * in place (the new digits fit in the old length): the item's meta marks
 * (stale, win sent, binary key) and whether it was fetched.
 */
export function deltaInPlace(
  store: Store,
  key: string,
  incr: boolean,
  delta: bigint,
  cas = 0,
): DeltaResult {
  const old = store.peek(key);
  const fetched = old !== undefined && store.wasFetched(old);
  const result = store.delta(key, incr, delta, cas);
  const item = result.item;
  if (!old || !item || item === old || result.value!.toString().length > old.value.length) {
    return result;
  }
  item.stale = old.stale;
  item.tokenSent = old.tokenSent;
  item.binaryKey = old.binaryKey;
  if (fetched) store.get(key);
  return result;
}

/** memcached's slab class sizes for the default `-n 48 -f 1.25`, up to half the item size limit. */
function slabClass(size: number, maxItemSize: number): number {
  const chunkMax = Math.floor(maxItemSize / 2);
  let s = 96;
  let id = 1;
  while (true) {
    if (s >= chunkMax / 1.25) return size <= chunkMax ? id : id;
    if (s % 8) s += 8 - (s % 8);
    if (size <= s) return id;
    s = Math.floor(s * 1.25);
    id++;
  }
}

function metaDebug(call: TextCall): void {
  const { req, ctx } = call;
  const { store } = ctx;
  const words = req.words;
  const nt = tokenCount(words);
  if (nt < 3 || words[1].length > KEY_MAX_LENGTH) return reply(call, BAD_FORMAT);
  let key = words[1];
  if (nt >= 4 && words[2] === "b") {
    const decoded = base64Decode(key);
    if (decoded === undefined) return reply(call, BAD_FORMAT);
    key = decoded;
  }
  const item = store.peek(key);
  ctx.stats.c.cmd_meta++;
  if (!item) return reply(call, "EN");
  const now = store.now();
  const size = store.itemSize(key, item.value.length, item.flags);
  const shown = item.binaryKey ? btoa(key) : key;
  const exp = item.exptime === 0 ? -1 : now - item.exptime;
  reply(
    call,
    `ME ${shown} exp=${exp} la=${now - item.time} cas=${item.cas} fetch=${
      store.wasFetched(item) ? "yes" : "no"
    } cls=${slabClass(size, store.maxItemSize)} size=${size}`,
  );
}
