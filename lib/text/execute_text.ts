import { checkCredentials } from "../auth_file.ts";
import type { CommandContext } from "../command_context.ts";
import { fetchItem } from "../fetch_item.ts";
import type { Response } from "../messages.ts";
import { statReport } from "../stat_report.ts";
import type { StoreMode } from "../store.ts";
import { deltaInPlace, executeMeta } from "./execute_meta.ts";
import { safeStrtol, safeStrtoul, safeStrtoull } from "./safe_strtol.ts";
import { INT_MAX, KEY_MAX_LENGTH } from "../constants.ts";
import { MAX_WORDS, tokenize } from "./text_parser.ts";
import type { TextRequest } from "./text_request.ts";

/** One text command in flight: its request, where replies go, and its `noreply`. */
export interface TextCall {
  req: TextRequest;
  ctx: CommandContext;
  out: Response[];
  /** memcached's `c->noreply`: replies through {@linkcode reply} are dropped. */
  noreply: boolean;
}

/** Sends one reply line (dropped under `noreply`, as memcached's `out_string`). */
export function reply(call: TextCall, line: string): void {
  if (call.noreply) return;
  call.out.push({ kind: "text", parts: [line + "\r\n"] });
}

/** Sends one reply line whatever `noreply` says (memcached's `out_errstring`). */
export function replyAlways(call: TextCall, line: string): void {
  call.out.push({ kind: "text", parts: [line + "\r\n"] });
}

/** memcached's token count: the words (at most 23 are split off) plus the terminal token. */
export function tokenCount(words: string[]): number {
  return Math.min(words.length, MAX_WORDS) + 1;
}

/**
 * Runs one text or meta protocol command against the store, as memcached
 * 1.6's `process_command_ascii` does, appending its replies to `out` (a
 * `"close"` response when the connection must close). The request is
 * already split into words; data blocks are already read.
 *
 * @example Usage
 * ```ts ignore
 * const out: Response[] = [];
 * executeText({ kind: "text", words: ["version"] }, ctx, out);
 * ```
 */
export function executeText(req: TextRequest, ctx: CommandContext, out: Response[]): void {
  const call: TextCall = { req, ctx, out, noreply: false };
  if (ctx.settings.sasl && !ctx.session.authenticated) return authenticate(call);
  if (ctx.settings.verbose > 1) ctx.log(`<${ctx.session.id} ${req.words.join(" ")}`);
  const words = req.words;
  const nt = tokenCount(words);
  const cmd = words[0];
  if (cmd === undefined || cmd.length < 2) return reply(call, "ERROR");
  const first = cmd.charCodeAt(0);
  if (first === 0x6d && cmd.length === 2) return executeMeta(call);
  switch (cmd) {
    case "get":
    case "bget":
      return nt < 3 ? reply(call, "ERROR") : get(call, false, false);
    case "gets":
      return nt < 3 ? reply(call, "ERROR") : get(call, true, false);
    case "gat":
      return nt < 3 ? reply(call, "ERROR") : get(call, false, true);
    case "gats":
      return nt < 3 ? reply(call, "ERROR") : get(call, true, true);
    case "set":
    case "add":
    case "replace":
    case "append":
    case "prepend":
      return nt !== 6 && nt !== 7 ? reply(call, "ERROR") : update(call, cmd, false);
    case "cas":
      return nt !== 7 && nt !== 8 ? reply(call, "ERROR") : update(call, "cas", true);
    case "incr":
    case "decr":
      return nt !== 4 && nt !== 5 ? reply(call, "ERROR") : arithmetic(call, cmd === "incr");
    case "delete":
      return nt < 3 || nt > 5 ? reply(call, "ERROR") : remove(call);
    case "touch":
      return nt !== 4 && nt !== 5 ? reply(call, "ERROR") : touch(call);
    case "stats":
      return stats(call);
    case "flush_all":
      return nt < 2 || nt > 4 ? reply(call, "ERROR") : flushAll(call);
    case "version":
      return reply(call, `VERSION ${ctx.settings.version}`);
    case "quit":
      out.push({ kind: "close" });
      return;
    case "verbosity":
      return nt !== 3 && nt !== 4 ? reply(call, "ERROR") : verbosity(call);
    case "cache_memlimit":
      return nt !== 3 && nt !== 4 ? reply(call, "ERROR") : memlimit(call);
    case "shutdown":
      return shutdown(call);
  }
  // memcached's first-letter dispatch: these initials never reach the HTTP check.
  if ("gsacidt".includes(cmd[0])) return reply(call, "ERROR");
  if (words[nt - 2].startsWith("HTTP/")) {
    out.push({ kind: "close" });
    return;
  }
  reply(call, "ERROR");
}

/** `noreply` as memcached's `set_noreply_maybe`: the last token says so. */
function setNoreply(call: TextCall): boolean {
  const words = call.req.words;
  call.noreply = words[tokenCount(words) - 2] === "noreply";
  return call.noreply;
}

function get(call: TextCall, withCas: boolean, touch: boolean): void {
  const { req, ctx } = call;
  const words = req.words;
  let i = 1;
  let exptime = 0;
  if (touch) {
    const e = safeStrtol(words[1]);
    if (e === undefined) return reply(call, "CLIENT_ERROR invalid exptime argument");
    exptime = e;
    i = 2;
  }
  const parts: (string | Uint8Array)[] = [];
  for (; i < words.length; i++) {
    const key = words[i];
    if (key.length > KEY_MAX_LENGTH) {
      // memcached releases every response it has not sent yet: this command's
      // and those of the commands before it in the same read.
      call.out.length = 0;
      return reply(call, "CLIENT_ERROR bad command line format");
    }
    const item = fetchItem(ctx, key, touch, exptime);
    if (!item) continue;
    // Separate parts: the key is already a flat string, and a short tail is
    // cheaper to write than one long concatenated header.
    const tail = withCas
      ? ` ${item.flags} ${item.value.length} ${item.cas}\r\n`
      : ` ${item.flags} ${item.value.length}\r\n`;
    parts.push("VALUE ", key, tail, item.value, "\r\n");
  }
  parts.push("END\r\n");
  call.out.push({ kind: "text", parts });
}

function update(call: TextCall, mode: StoreMode, handleCas: boolean): void {
  const { req, ctx } = call;
  const { store } = ctx;
  const c = ctx.stats.c;
  const words = req.words;
  setNoreply(call);
  const key = words[1];
  if (key.length > KEY_MAX_LENGTH) return reply(call, "CLIENT_ERROR bad command line format");
  const flags = safeStrtoul(words[2]);
  const exptime = safeStrtol(words[3]);
  const length = safeStrtol(words[4]);
  if (flags === undefined || exptime === undefined || length === undefined) {
    return reply(call, "CLIENT_ERROR bad command line format");
  }
  let cas = 0;
  if (handleCas) {
    const value = safeStrtoull(words[5]);
    if (value === undefined) return reply(call, "CLIENT_ERROR bad command line format");
    cas = Number(value);
  }
  if (length < 0 || length > INT_MAX - 2) {
    return reply(call, "CLIENT_ERROR bad command line format");
  }
  // The parser read (or swallowed) the data block.
  c.cmd_set++;
  if (req.block === "too_large" || store.itemSize(key, length, flags) > store.maxItemSize) {
    c.store_too_large++;
    // memcached drops the old value rather than leave it stale after a failed set.
    if (mode === "set") store.delete(key);
    return reply(call, "SERVER_ERROR object too large for cache");
  }
  if (req.block !== "ok" || !req.data) return reply(call, "CLIENT_ERROR bad data chunk");
  const result = store.store(mode, key, req.data, flags, exptime, cas);
  switch (result.status) {
    case "stored":
      if (mode === "cas") c.cas_hits++;
      return reply(call, "STORED");
    case "exists":
      if (mode === "cas") c.cas_badval++;
      return reply(call, "EXISTS");
    case "not_found":
      if (mode === "cas") c.cas_misses++;
      return reply(call, "NOT_FOUND");
    case "not_stored":
      return reply(call, "NOT_STORED");
    case "too_large":
      c.store_too_large++;
      return reply(call, "SERVER_ERROR object too large for cache");
    case "no_memory":
      c.store_no_memory++;
      return reply(call, "SERVER_ERROR out of memory storing object");
  }
}

function arithmetic(call: TextCall, incr: boolean): void {
  const { req, ctx } = call;
  const c = ctx.stats.c;
  setNoreply(call);
  const key = req.words[1];
  if (key.length > KEY_MAX_LENGTH) return reply(call, "CLIENT_ERROR bad command line format");
  const delta = safeStrtoull(req.words[2]);
  if (delta === undefined) return reply(call, "CLIENT_ERROR invalid numeric delta argument");
  const result = deltaInPlace(ctx.store, key, incr, delta);
  switch (result.status) {
    case "ok":
      if (incr) c.incr_hits++;
      else c.decr_hits++;
      return reply(call, result.value!.toString());
    case "non_numeric":
      return reply(call, "CLIENT_ERROR cannot increment or decrement non-numeric value");
    case "no_memory":
      return reply(call, "SERVER_ERROR out of memory");
    case "not_found":
      if (incr) c.incr_misses++;
      else c.decr_misses++;
      return reply(call, "NOT_FOUND");
    case "exists":
      return; // cannot happen without a CAS
  }
}

function remove(call: TextCall): void {
  const { req, ctx } = call;
  const words = req.words;
  const nt = tokenCount(words);
  if (nt > 3) {
    const holdIsZero = words[2] === "0";
    const noreply = setNoreply(call);
    const valid = (nt === 4 && (holdIsZero || noreply)) || (nt === 5 && holdIsZero && noreply);
    if (!valid) {
      return reply(
        call,
        "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]",
      );
    }
  }
  const key = words[1];
  if (key.length > KEY_MAX_LENGTH) return reply(call, "CLIENT_ERROR bad command line format");
  if (ctx.store.delete(key) === "deleted") {
    ctx.stats.c.delete_hits++;
    return reply(call, "DELETED");
  }
  ctx.stats.c.delete_misses++;
  reply(call, "NOT_FOUND");
}

function touch(call: TextCall): void {
  const { req, ctx } = call;
  const c = ctx.stats.c;
  setNoreply(call);
  const key = req.words[1];
  if (key.length > KEY_MAX_LENGTH) return reply(call, "CLIENT_ERROR bad command line format");
  const exptime = safeStrtol(req.words[2]);
  if (exptime === undefined) return reply(call, "CLIENT_ERROR invalid exptime argument");
  c.cmd_touch++;
  if (ctx.store.touch(key, exptime)) {
    c.touch_hits++;
    return reply(call, "TOUCHED");
  }
  c.touch_misses++;
  reply(call, "NOT_FOUND");
}

function flushAll(call: TextCall): void {
  const { req, ctx } = call;
  const noreply = setNoreply(call);
  ctx.stats.c.cmd_flush++;
  let delay = 0;
  if (tokenCount(req.words) !== (noreply ? 3 : 2)) {
    const value = safeStrtol(req.words[1]);
    if (value === undefined) return reply(call, "CLIENT_ERROR invalid exptime argument");
    delay = value;
  }
  ctx.store.flush(delay > 0 ? delay : 0);
  reply(call, "OK");
}

function verbosity(call: TextCall): void {
  setNoreply(call);
  // The level is accepted but not applied: our log output is set at start-up.
  if (safeStrtoul(call.req.words[1]) === undefined) {
    return reply(call, "CLIENT_ERROR bad command line format");
  }
  reply(call, "OK");
}

function memlimit(call: TextCall): void {
  setNoreply(call);
  const mb = safeStrtoul(call.req.words[1]);
  if (mb === undefined) return reply(call, "ERROR");
  if (mb < 8) return reply(call, "MEMLIMIT_TOO_SMALL cannot set maxbytes to less than 8m");
  if (mb > 1_000_000_000) {
    return reply(call, "MEMLIMIT_ADJUST_FAILED input value is megabytes not bytes");
  }
  call.ctx.store.memoryLimit = mb * 1024 * 1024;
  reply(call, "OK");
}

function shutdown(call: TextCall): void {
  const { req, ctx, out } = call;
  if (!ctx.settings.enableShutdown) return reply(call, "ERROR: shutdown not enabled");
  const nt = tokenCount(req.words);
  if (nt === 2 || (nt === 3 && req.words[1] === "graceful")) {
    out.push({ kind: "close" });
    ctx.shutdown();
    return;
  }
  reply(call, "CLIENT_ERROR invalid shutdown mode");
}

function stats(call: TextCall): void {
  const { req, ctx } = call;
  const words = req.words;
  const nt = tokenCount(words);
  const group = nt === 2 ? "" : words[1];
  switch (group) {
    case "reset":
      statReport(ctx, "reset");
      return reply(call, "RESET");
    case "detail": {
      const arg = nt < 4 ? "" : words[2];
      if (arg === "on" || arg === "off") return reply(call, "OK");
      if (arg === "dump") return reply(call, "END");
      return reply(call, "CLIENT_ERROR usage: stats detail on|off|dump");
    }
    case "cachedump": {
      if (nt < 5) return reply(call, "CLIENT_ERROR bad command line");
      const id = safeStrtoul(words[2]);
      if (id === undefined || safeStrtoul(words[3]) === undefined) {
        return reply(call, "CLIENT_ERROR bad command line format");
      }
      if (id >= 64) return reply(call, "CLIENT_ERROR Illegal slab id");
      return reply(call, "END");
    }
  }
  const lines = statReport(ctx, group);
  if (lines === undefined) return reply(call, "ERROR");
  let text = "";
  for (const [name, value] of lines) text += `STAT ${name} ${value}\r\n`;
  call.out.push({ kind: "text", parts: [text + "END\r\n"] });
}

/** Replies of the text authentication exchange (see {@linkcode authenticate}). */
const authReplies = new WeakSet<Response>();

/**
 * memcached's `-Y` text authentication: until the connection authenticates,
 * only `set <any> <any> <any> <len>` with `<user> <password>` as data is
 * understood; it answers `STORED` on success. Like memcached, which writes
 * each of these replies over the last one not yet sent, only the last reply
 * of a pipelined run of them goes out.
 */
function authenticate(call: TextCall): void {
  const { out } = call;
  const last = out[out.length - 1];
  if (last !== undefined && authReplies.has(last)) out.pop();
  const start = out.length;
  authStep(call);
  for (let i = start; i < out.length; i++) authReplies.add(out[i]);
}

function authStep(call: TextCall): void {
  const { req, ctx } = call;
  const words = req.words;
  if (words.length < 5 || words[0] !== "set" || safeStrtoul(words[4]) === undefined) {
    return replyAlways(call, "CLIENT_ERROR unauthenticated");
  }
  if (req.block !== "ok" || !req.data) {
    return replyAlways(call, "CLIENT_ERROR bad command line termination");
  }
  let text = "";
  for (const b of req.data) {
    if (b === 0) break;
    text += String.fromCharCode(b);
  }
  const token = tokenize(text);
  if (token.length < 2) {
    return replyAlways(call, "CLIENT_ERROR bad authentication token format");
  }
  ctx.stats.c.auth_cmds++;
  if (checkCredentials(ctx.settings.credentials, token[0], token[1])) {
    ctx.session.authenticated = true;
    return replyAlways(call, "STORED");
  }
  ctx.stats.c.auth_errors++;
  replyAlways(call, "CLIENT_ERROR authentication failure");
}
