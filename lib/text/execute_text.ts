import { arithmeticCommand } from "../commands/arithmetic_command.ts";
import { authCommand } from "../commands/auth_command.ts";
import { cachedumpCommand } from "../commands/cachedump_command.ts";
import { detailCommand } from "../commands/detail_command.ts";
import { deleteCommand } from "../commands/delete_command.ts";
import { flushCommand } from "../commands/flush_command.ts";
import { getCommand } from "../commands/get_command.ts";
import { memoryLimitCommand } from "../commands/memory_limit_command.ts";
import { statsCommand } from "../commands/stats_command.ts";
import { storeCommand } from "../commands/store_command.ts";
import { touchCommand } from "../commands/touch_command.ts";
import type { ConnectionState } from "../connection_state.ts";
import { KEY_MAX_LENGTH } from "../constants.ts";
import { bytesToString } from "../bytes.ts";
import type { Access } from "../command_context.ts";
import type { StoreMode } from "../store/store.ts";
import { executeMeta, metaAccess } from "./execute_meta.ts";
import { safeStrtol, safeStrtoul, safeStrtoull } from "./safe_strtol.ts";
import { TextCall } from "./text_call.ts";
import { tokenize } from "./text_parser.ts";
import type { TextRequest } from "./text_request.ts";

const BAD_FORMAT = "CLIENT_ERROR bad command line format";

/**
 * Runs one text or meta protocol command as memcached 1.6's
 * `process_command_ascii` does: decodes its arguments, runs it through the
 * command layer and queues the reply on the connection (a `"close"` when
 * the connection must close). The request is already split into words;
 * data blocks are already read.
 *
 * @example Usage
 * ```ts
 * import { CommandContext } from "../command_context.ts";
 * import { ConnectionState } from "../connection_state.ts";
 * import { executeText } from "./execute_text.ts";
 * import assert from "node:assert/strict";
 *
 * const connection = new ConnectionState({ id: 1, context: new CommandContext() });
 * const out = connection.begin();
 * const key = new TextEncoder().encode("k");
 * executeText({ kind: "text", words: ["get", ""], keys: [key] }, connection);
 * assert.deepEqual(out, [{ kind: "text", parts: ["END\r\n"] }]);
 * ```
 */
export function executeText(req: TextRequest, connection: ConnectionState): void {
  const call = new TextCall(req, connection);
  const { settings } = connection.context;
  if (settings.sasl && !connection.authenticated) return authenticate(call);
  if (settings.verbose > 1 && connection.resumeAt === 0) {
    connection.context.log(`<${connection.id} ${lineText(req)}`);
  }
  const words = req.words;
  const nt = call.tokenCount;
  const cmd = words[0];
  if (cmd === undefined || cmd.length < 2) return call.reply("ERROR");
  if (cmd.charCodeAt(0) === 0x6d && cmd.length === 2) return executeMeta(call);
  switch (cmd) {
    case "get":
    case "bget":
    case "gets":
    case "gat":
    case "gats":
      return nt < 3 ? call.reply("ERROR") : get(call, cmd);
    case "set":
    case "add":
    case "replace":
    case "append":
    case "prepend":
      return nt !== 6 && nt !== 7 ? call.reply("ERROR") : update(call, cmd);
    case "cas":
      return nt !== 7 && nt !== 8 ? call.reply("ERROR") : update(call, "cas");
    case "incr":
    case "decr":
      return nt !== 4 && nt !== 5 ? call.reply("ERROR") : arithmetic(call, cmd);
    case "delete":
      return nt < 3 || nt > 5 ? call.reply("ERROR") : remove(call);
    case "touch":
      return nt !== 4 && nt !== 5 ? call.reply("ERROR") : touch(call);
    case "stats":
      return stats(call);
    case "flush_all":
      return nt < 2 || nt > 4 ? call.reply("ERROR") : flushAll(call);
    case "version":
      return call.reply(`VERSION ${settings.version}`);
    case "quit":
      return connection.close();
    case "verbosity":
      return nt !== 3 && nt !== 4 ? call.reply("ERROR") : verbosity(call);
    case "cache_memlimit":
      return nt !== 3 && nt !== 4 ? call.reply("ERROR") : memlimit(call);
    case "shutdown":
      return shutdown(call);
  }
  // memcached's first-letter dispatch: these initials never reach the HTTP check.
  if ("gsacidt".includes(cmd[0])) return call.reply("ERROR");
  if (words[nt - 2].startsWith("HTTP/")) return connection.close();
  call.reply("ERROR");
}

/**
 * The share of the store lock a text or meta request needs: what the
 * command it runs asks for (`Command.access`). The dispatcher takes it
 * before running the request.
 *
 * @example Usage
 * ```ts
 * import { textAccess } from "./execute_text.ts";
 * import assert from "node:assert/strict";
 *
 * const key = new TextEncoder().encode("k");
 * assert.equal(textAccess({ kind: "text", words: ["get", ""], keys: [key] }), "read");
 * assert.equal(textAccess({ kind: "text", words: ["incr", "", "1"], keys: [key] }), "write");
 * assert.equal(textAccess({ kind: "text", words: ["version"], keys: [] }), "none");
 * ```
 */
export function textAccess(req: TextRequest): Access {
  const cmd = req.words[0];
  if (cmd === undefined) return "none";
  if (cmd.length === 2 && cmd.charCodeAt(0) === 0x6d) return metaAccess(req);
  return ACCESS[cmd] ?? "none";
}

/**
 * Whether a request may run optimistically, holding no share of the store
 * lock (see `RwLock.optimistic`): `get`, `gets` or `bget` of one key, which
 * changes nothing on the connection before its one look at the store, so
 * that it can run again under a share if that look meets a writer.
 */
export function textReadsOnce(req: TextRequest): boolean {
  const cmd = req.words[0];
  return req.keys.length === 1 && (cmd === "get" || cmd === "gets" || cmd === "bget");
}

const ACCESS: Readonly<Record<string, Access>> = {
  get: getCommand.access,
  bget: getCommand.access,
  gets: getCommand.access,
  gat: touchCommand.access,
  gats: touchCommand.access,
  touch: touchCommand.access,
  set: storeCommand.access,
  add: storeCommand.access,
  replace: storeCommand.access,
  append: storeCommand.access,
  prepend: storeCommand.access,
  cas: storeCommand.access,
  incr: arithmeticCommand.access,
  decr: arithmeticCommand.access,
  delete: deleteCommand.access,
  flush_all: flushCommand.access,
  cache_memlimit: memoryLimitCommand.access,
  stats: statsCommand.access,
};

/** The command line with its keys, for `-vv` logs. */
function lineText(req: TextRequest): string {
  let k = 0;
  return req.words.map((w) => w !== "" ? w : bytesToString(req.keys[k], 0, req.keys[k++].length))
    .join(" ");
}

/**
 * `get`, `bget`, `gets`, `gat` and `gats`: one get or touch per key, one
 * reply. A reply whose values pass the connection's `partLimit` is queued in
 * parts: the command stops after a part, and the dispatcher runs it again
 * (from `resumeAt`) once the client has taken what is queued.
 */
function get(call: TextCall, cmd: "get" | "bget" | "gets" | "gat" | "gats"): void {
  const { words, connection } = call;
  const { context } = connection;
  const withCas = cmd === "gets" || cmd === "gats";
  const touch = cmd === "gat" || cmd === "gats";
  let exptime = 0;
  if (touch) {
    const e = safeStrtol(words[1]);
    if (e === undefined) return call.reply("CLIENT_ERROR invalid exptime argument");
    exptime = e;
  }
  const into = connection.values;
  const keys = call.req.keys;
  const parts: (string | Uint8Array)[] = [];
  let size = 0;
  for (let k = connection.resumeAt; k < keys.length; k++) {
    const key = keys[k];
    if (key.length > KEY_MAX_LENGTH) {
      // memcached releases every response it has not sent yet: this command's
      // and those of the commands before it in the same read.
      connection.dropUnsent();
      return call.reply(BAD_FORMAT);
    }
    const result = touch
      ? context.run(touchCommand, { key, exptime, into, detailGet: true })
      : context.run(getCommand, { key, into });
    if (result.status === "miss") continue;
    const { item } = result;
    // Separate parts: the key's bytes as they came, and a short tail is
    // cheaper to write than one long concatenated header.
    const tail = withCas
      ? ` ${item.flags} ${item.valueLength} ${item.cas}\r\n`
      : ` ${item.flags} ${item.valueLength}\r\n`;
    parts.push("VALUE ", key, tail, item.value, "\r\n");
    size += item.valueLength;
    if (size > connection.partLimit && k + 1 < keys.length) {
      connection.resumeAt = k + 1;
      return call.send({ kind: "text", parts });
    }
  }
  connection.resumeAt = 0;
  parts.push("END\r\n");
  call.send({ kind: "text", parts });
}

function update(call: TextCall, mode: StoreMode): void {
  const { req } = call;
  call.setNoreply();
  const line = req.storage;
  // The parser read no data block after a line it did not accept.
  if (line === undefined) return call.reply(BAD_FORMAT);
  const result = call.connection.context.run(storeCommand, {
    mode,
    key: req.keys[0],
    value: req.block === "too_large" ? undefined : req.data,
    flags: line.flags,
    exptime: line.exptime,
    cas: line.cas,
    badChunk: req.block !== "ok",
    // memcached drops the old value rather than leave it stale after a failed set.
    unlinkIfTooLarge: mode === "set",
    detailSet: true,
  });
  call.reply(STORE_REPLIES[result.status]);
}

const STORE_REPLIES = {
  stored: "STORED",
  exists: "EXISTS",
  not_found: "NOT_FOUND",
  not_stored: "NOT_STORED",
  too_large: "SERVER_ERROR object too large for cache",
  no_memory: "SERVER_ERROR out of memory storing object",
  bad_chunk: "CLIENT_ERROR bad data chunk",
} as const;

function arithmetic(call: TextCall, op: "incr" | "decr"): void {
  const { words } = call;
  call.setNoreply();
  const key = call.req.keys[0];
  if (key.length > KEY_MAX_LENGTH) return call.reply(BAD_FORMAT);
  const delta = safeStrtoull(words[2]);
  if (delta === undefined) return call.reply("CLIENT_ERROR invalid numeric delta argument");
  const result = call.connection.context.run(arithmeticCommand, { key, op, delta });
  switch (result.status) {
    case "ok":
      return call.reply(result.value.toString());
    case "non_numeric":
      return call.reply("CLIENT_ERROR cannot increment or decrement non-numeric value");
    case "no_memory":
    case "not_created":
      return call.reply("SERVER_ERROR out of memory");
    case "not_found":
      return call.reply("NOT_FOUND");
    case "exists":
      return; // cannot happen without a CAS
  }
}

function remove(call: TextCall): void {
  const { words } = call;
  const nt = call.tokenCount;
  if (nt > 3) {
    const holdIsZero = words[2] === "0";
    const noreply = call.setNoreply();
    const valid = (nt === 4 && (holdIsZero || noreply)) || (nt === 5 && holdIsZero && noreply);
    if (!valid) {
      return call.reply(
        "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]",
      );
    }
  }
  const key = call.req.keys[0];
  if (key.length > KEY_MAX_LENGTH) return call.reply(BAD_FORMAT);
  const result = call.connection.context.run(deleteCommand, { key });
  call.reply(result.status === "deleted" ? "DELETED" : "NOT_FOUND");
}

function touch(call: TextCall): void {
  const { words } = call;
  call.setNoreply();
  const key = call.req.keys[0];
  if (key.length > KEY_MAX_LENGTH) return call.reply(BAD_FORMAT);
  const exptime = safeStrtol(words[2]);
  if (exptime === undefined) return call.reply("CLIENT_ERROR invalid exptime argument");
  const result = call.connection.context.run(touchCommand, { key, exptime });
  call.reply(result.status === "hit" ? "TOUCHED" : "NOT_FOUND");
}

function flushAll(call: TextCall): void {
  const noreply = call.setNoreply();
  const delay = call.tokenCount === (noreply ? 3 : 2) ? 0 : safeStrtol(call.words[1]);
  const result = call.connection.context.run(flushCommand, { delay });
  call.reply(result.status === "ok" ? "OK" : "CLIENT_ERROR invalid exptime argument");
}

function verbosity(call: TextCall): void {
  call.setNoreply();
  // The level is accepted but not applied: our log output is set at start-up.
  if (safeStrtoul(call.words[1]) === undefined) return call.reply(BAD_FORMAT);
  call.reply("OK");
}

function memlimit(call: TextCall): void {
  call.setNoreply();
  const mb = safeStrtoul(call.words[1]);
  if (mb === undefined) return call.reply("ERROR");
  if (mb < 8) return call.reply("MEMLIMIT_TOO_SMALL cannot set maxbytes to less than 8m");
  if (mb > 1_000_000_000) {
    return call.reply("MEMLIMIT_ADJUST_FAILED input value is megabytes not bytes");
  }
  call.connection.context.run(memoryLimitCommand, { bytes: mb * 1024 * 1024 });
  call.reply("OK");
}

function shutdown(call: TextCall): void {
  const { words, connection } = call;
  const { context } = connection;
  if (!context.settings.enableShutdown) return call.reply("ERROR: shutdown not enabled");
  const nt = call.tokenCount;
  if (nt === 2 || (nt === 3 && words[1] === "graceful")) {
    connection.close();
    context.shutdown();
    return;
  }
  call.reply("CLIENT_ERROR invalid shutdown mode");
}

function stats(call: TextCall): void {
  const { words, connection } = call;
  const { context } = connection;
  const nt = call.tokenCount;
  const group = nt === 2 ? "" : words[1];
  switch (group) {
    case "reset":
      context.run(statsCommand, { group });
      return call.reply("RESET");
    case "detail": {
      const action = nt < 4 ? "" : words[2];
      if (action !== "on" && action !== "off" && action !== "dump") {
        return call.reply("CLIENT_ERROR usage: stats detail on|off|dump");
      }
      const { dump } = context.run(detailCommand, { action });
      return dump === undefined ? call.reply("OK") : call.send({ kind: "text", parts: [dump] });
    }
    case "cachedump":
      return cachedump(call);
  }
  const result = context.run(statsCommand, { group, connectionId: connection.id });
  if (result.status === "unknown") return call.reply("ERROR");
  let text = "";
  for (const [name, value] of result.lines) text += `STAT ${name} ${value}\r\n`;
  call.send({ kind: "text", parts: [text + "END\r\n"] });
}

/** `stats cachedump CLASS LIMIT`, with memcached's checks in its order. */
function cachedump(call: TextCall): void {
  const { words } = call;
  const { context } = call.connection;
  if (!context.settings.dumpEnabled) {
    return call.reply("CLIENT_ERROR stats cachedump not allowed");
  }
  if (call.tokenCount < 5) return call.reply("CLIENT_ERROR bad command line");
  const classId = safeStrtoul(words[2]);
  const limit = safeStrtoul(words[3]);
  if (classId === undefined || limit === undefined) return call.reply(BAD_FORMAT);
  const result = context.run(cachedumpCommand, { classId, limit });
  if (result.status === "bad_class") return call.reply("CLIENT_ERROR Illegal slab id");
  call.send({ kind: "text", parts: [result.text] });
}

/**
 * memcached's `-Y` text authentication: until the connection authenticates,
 * only `set <any> <any> <any> <len>` with `<user> <password>` as data is
 * understood; it answers `STORED` on success. Like memcached, which writes
 * each of these replies over the last one not yet sent, only the last reply
 * of a pipelined run of them goes out.
 */
function authenticate(call: TextCall): void {
  call.connection.replyAuth({ kind: "text", parts: [authStep(call) + "\r\n"] });
}

/** One authentication attempt; returns its reply line. */
function authStep(call: TextCall): string {
  const { req, connection } = call;
  const words = req.words;
  if (words.length < 5 || words[0] !== "set" || safeStrtoul(words[4]) === undefined) {
    return "CLIENT_ERROR unauthenticated";
  }
  if (req.block !== "ok" || !req.data) return "CLIENT_ERROR bad command line termination";
  let text = "";
  for (const b of req.data) {
    if (b === 0) break;
    text += String.fromCharCode(b);
  }
  const token = tokenize(text);
  if (token.length < 2) return "CLIENT_ERROR bad authentication token format";
  const result = connection.context.run(authCommand, {
    connection,
    user: token[0],
    password: token[1],
  });
  return result.status === "ok" ? "STORED" : "CLIENT_ERROR authentication failure";
}
