import { EMPTY } from "../bytes.ts";
import type { CommandContext, Session } from "../command_context.ts";
import { KEY_MAX_LENGTH } from "../constants.ts";
import type { BinaryRequest, BinaryResponse, Response } from "../messages.ts";
import { fetchItem } from "../fetch_item.ts";
import { statReport } from "../stat_report.ts";
import type { StoreMode } from "../store.ts";
import { Op, Status, STATUS_TEXT } from "./constants.ts";
import { saslCommand } from "./sasl.ts";

/** Quiet opcodes and the loud opcode each stands for. */
const QUIET: Readonly<Record<number, number>> = {
  [Op.GETQ]: Op.GET,
  [Op.GETKQ]: Op.GETK,
  [Op.SETQ]: Op.SET,
  [Op.ADDQ]: Op.ADD,
  [Op.REPLACEQ]: Op.REPLACE,
  [Op.DELETEQ]: Op.DELETE,
  [Op.INCREMENTQ]: Op.INCREMENT,
  [Op.DECREMENTQ]: Op.DECREMENT,
  [Op.QUITQ]: Op.QUIT,
  [Op.FLUSHQ]: Op.FLUSH,
  [Op.APPENDQ]: Op.APPEND,
  [Op.PREPENDQ]: Op.PREPEND,
  [Op.GATQ]: Op.GAT,
  [Op.GATKQ]: Op.GATK,
};

/**
 * Where each connection's unsent responses begin: memcached rewrites an
 * incr/decr result in place (space padded) only when nothing else references
 * the item; a GET-family hit queued earlier in the same pipeline still does
 * until the connection transmits (at a NOOP, an error, or the end of what it
 * read), and then it stores a fresh, unpadded copy. Mirroring that keeps
 * values byte-identical. Responses before `from` in `out` (or in any earlier
 * output array) count as sent; a hit is found by scanning at incr time, so
 * GETs pay nothing for it.
 */
const unsent = new WeakMap<Session, { out: Response[]; from: number }>();

/** Marks the point where memcached sends every queued response. */
function responsesSent(call: Call): void {
  unsent.set(call.ctx.session, { out: call.out, from: call.out.length });
}

/** Whether an unsent GET-family hit in this connection's output holds item version `cas`. */
function pinned(call: Call, cas: number): boolean {
  const mark = unsent.get(call.ctx.session);
  const from = mark !== undefined && mark.out === call.out ? mark.from : 0;
  for (let i = from; i < call.out.length; i++) {
    const res = call.out[i];
    if (res.kind === "binary" && res.flags !== undefined && res.cas === cas) return true;
  }
  return false;
}

/** One command in flight: the request, its loud opcode, and where replies go. */
interface Call {
  req: BinaryRequest;
  op: number;
  quiet: boolean;
  ctx: CommandContext;
  out: Response[];
}

/**
 * Runs one binary protocol request against the store, as memcached 1.6 does,
 * appending its responses (none for a quiet success) to `out`. A response of
 * kind `"close"` is appended when the connection must close.
 *
 * @example Usage
 * ```ts ignore
 * const out: Response[] = [];
 * executeBinary(request, ctx, out);
 * ```
 */
export function executeBinary(req: BinaryRequest, ctx: CommandContext, out: Response[]): void {
  const loud = QUIET[req.opcode];
  const call: Call = { req, op: loud ?? req.opcode, quiet: loud !== undefined, ctx, out };
  if (ctx.settings.sasl && !ctx.session.authenticated && !exemptFromAuth(req.opcode)) {
    error(call, Status.AUTH_ERROR);
    out.push({ kind: "close" });
    return;
  }
  if (req.keyLength > KEY_MAX_LENGTH) return protocolError(call);
  if (ctx.settings.verbose > 1) ctx.log(logLine(call));
  const handler = HANDLERS[call.op];
  if (!handler) return error(call, Status.UNKNOWN_COMMAND, req.bodyLength > 0);
  if (!handler.valid(req)) return protocolError(call);
  handler.run(call);
}

function exemptFromAuth(opcode: number): boolean {
  return opcode === Op.SASL_LIST_MECHS || opcode === Op.SASL_AUTH || opcode === Op.SASL_STEP ||
    opcode === Op.VERSION;
}

interface Handler {
  /** memcached's per-opcode length checks; a failure is a protocol error. */
  valid(req: BinaryRequest): boolean;
  run(call: Call): void;
}

const bare = (r: BinaryRequest) => r.extrasLength === 0 && r.keyLength === 0 && r.bodyLength === 0;
const keyOnly = (r: BinaryRequest) =>
  r.extrasLength === 0 && r.keyLength > 0 && r.bodyLength === r.keyLength;
const update = (r: BinaryRequest) =>
  r.extrasLength === 8 && r.keyLength > 0 && r.bodyLength >= r.keyLength + 8;
const touchLike = (r: BinaryRequest) => r.extrasLength === 4 && r.keyLength > 0;

const HANDLERS: Readonly<Record<number, Handler>> = {
  [Op.GET]: { valid: keyOnly, run: get },
  [Op.GETK]: { valid: keyOnly, run: get },
  [Op.TOUCH]: { valid: touchLike, run: get },
  [Op.GAT]: { valid: touchLike, run: get },
  [Op.GATK]: { valid: touchLike, run: get },
  [Op.SET]: { valid: update, run: storeItem },
  [Op.ADD]: { valid: update, run: storeItem },
  [Op.REPLACE]: { valid: update, run: storeItem },
  [Op.APPEND]: { valid: (r) => r.extrasLength === 0 && r.keyLength > 0, run: storeItem },
  [Op.PREPEND]: { valid: (r) => r.extrasLength === 0 && r.keyLength > 0, run: storeItem },
  [Op.DELETE]: { valid: keyOnly, run: remove },
  [Op.INCREMENT]: {
    valid: (r) => r.keyLength > 0 && r.extrasLength === 20 && r.bodyLength === r.keyLength + 20,
    run: delta,
  },
  [Op.DECREMENT]: {
    valid: (r) => r.keyLength > 0 && r.extrasLength === 20 && r.bodyLength === r.keyLength + 20,
    run: delta,
  },
  [Op.QUIT]: { valid: bare, run: quit },
  [Op.FLUSH]: {
    valid: (r) =>
      r.keyLength === 0 && r.bodyLength === r.extrasLength &&
      (r.extrasLength === 0 || r.extrasLength === 4),
    run: flush,
  },
  [Op.NOOP]: { valid: bare, run: noop },
  [Op.VERSION]: { valid: bare, run: (call) => reply(call, Status.OK, call.ctx.settings.version) },
  [Op.STAT]: { valid: (r) => r.extrasLength === 0, run: stat },
  [Op.SASL_LIST_MECHS]: { valid: bare, run: (call) => sasl(call) },
  [Op.SASL_AUTH]: { valid: (r) => r.extrasLength === 0 && r.keyLength > 0, run: (c) => sasl(c) },
  [Op.SASL_STEP]: { valid: (r) => r.extrasLength === 0 && r.keyLength > 0, run: (c) => sasl(c) },
};

function response(call: Call, status: number, value: Uint8Array | string): BinaryResponse {
  return {
    kind: "binary",
    opcode: call.req.opcode,
    status,
    opaque: call.req.opaque,
    cas: 0,
    key: "",
    value,
  };
}

/** A success reply; quiet commands send none. */
function reply(call: Call, status: number, value: Uint8Array | string, cas = 0): void {
  if (call.quiet) return;
  const res = response(call, status, value);
  res.cas = cas;
  call.out.push(res);
}

/**
 * An error reply with memcached's text; sent for quiet commands too. Unless
 * memcached swallows a body after it (`swallowed`), it sends its queue then.
 */
function error(call: Call, status: number, swallowed = false): void {
  call.out.push(response(call, status, STATUS_TEXT[status]));
  if (!swallowed) responsesSent(call);
}

/** memcached's `handle_binary_protocol_error`: "Invalid arguments", then close. */
function protocolError(call: Call): void {
  error(call, Status.EINVAL);
  call.out.push({ kind: "close" });
}

function get(call: Call): void {
  const { req, op, ctx } = call;
  const touch = op === Op.TOUCH || op === Op.GAT || op === Op.GATK;
  const withKey = op === Op.GETK || op === Op.GATK;
  const item = fetchItem(ctx, req.key, touch, req.x0);
  if (!item) {
    if (call.quiet) return;
    if (withKey) {
      const res = response(call, Status.KEY_ENOENT, EMPTY);
      res.key = req.key;
      call.out.push(res);
    } else {
      error(call, Status.KEY_ENOENT);
    }
    return;
  }
  const res = response(call, Status.OK, op === Op.TOUCH ? EMPTY : item.value);
  res.cas = item.cas;
  res.flags = item.flags;
  if (withKey) res.key = req.key;
  call.out.push(res);
}

const MODES: Readonly<Record<number, StoreMode>> = {
  [Op.SET]: "set",
  [Op.ADD]: "add",
  [Op.REPLACE]: "replace",
  [Op.APPEND]: "append",
  [Op.PREPEND]: "prepend",
};

function storeItem(call: Call): void {
  const { req, op, ctx } = call;
  const c = ctx.stats.c;
  // memcached turns any set/add/replace carrying a CAS into a CAS store.
  const mode = req.cas !== 0 && op <= Op.REPLACE ? "cas" : MODES[op];
  c.cmd_set++;
  const result = ctx.store.store(mode, req.key, req.value, req.x0, req.x1, req.cas);
  switch (result.status) {
    case "stored":
      if (req.cas !== 0) c.cas_hits++;
      return reply(call, Status.OK, EMPTY, result.item!.cas);
    case "exists":
      c.cas_badval++;
      return error(call, Status.KEY_EEXISTS);
    case "not_found":
      c.cas_misses++;
      return error(call, Status.KEY_ENOENT);
    case "too_large":
      c.store_too_large++;
      // A too-large SET drops the old value, even one carrying a CAS.
      if (op === Op.SET) ctx.store.delete(req.key);
      return error(call, Status.E2BIG, true);
    case "no_memory":
      c.store_no_memory++;
      return error(call, Status.ENOMEM);
    case "not_stored":
      if (mode === "add") return error(call, Status.KEY_EEXISTS);
      if (mode === "replace") return error(call, Status.KEY_ENOENT);
      return error(call, Status.NOT_STORED);
  }
}

function remove(call: Call): void {
  const { req, ctx } = call;
  switch (ctx.store.delete(req.key, req.cas)) {
    case "deleted":
      ctx.stats.c.delete_hits++;
      return reply(call, Status.OK, EMPTY);
    case "exists":
      return error(call, Status.KEY_EEXISTS);
    case "not_found":
      ctx.stats.c.delete_misses++;
      return error(call, Status.KEY_ENOENT);
  }
}

function delta(call: Call): void {
  const { req, op, ctx } = call;
  const c = ctx.stats.c;
  const incr = op === Op.INCREMENT;
  const amount = BigInt(req.x0) << 32n | BigInt(req.x1);
  const current = ctx.store.peek(req.key);
  const inPlace = current === undefined || !pinned(call, current.cas);
  const result = ctx.store.delta(req.key, incr, amount, req.cas, inPlace);
  switch (result.status) {
    case "ok":
      if (incr) c.incr_hits++;
      else c.decr_hits++;
      return reply(call, Status.OK, u64(result.value!), result.cas);
    case "non_numeric":
      return error(call, Status.DELTA_BADVAL);
    case "exists":
      return error(call, Status.KEY_EEXISTS);
    case "no_memory":
      return error(call, Status.ENOMEM);
    case "not_found":
      break;
  }
  if (req.x4 === 0xffffffff) {
    if (incr) c.incr_misses++;
    else c.decr_misses++;
    return error(call, Status.KEY_ENOENT);
  }
  const initial = BigInt(req.x2) << 32n | BigInt(req.x3);
  const digits = new TextEncoder().encode(initial.toString());
  const created = ctx.store.store("add", req.key, digits, 0, req.x4);
  if (created.status === "stored") return reply(call, Status.OK, u64(initial), created.item!.cas);
  if (created.status === "no_memory") return error(call, Status.ENOMEM);
  error(call, Status.NOT_STORED);
}

function u64(value: bigint): Uint8Array {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setBigUint64(0, value);
  return bytes;
}

/** NOOP answers and makes memcached send everything queued. */
function noop(call: Call): void {
  reply(call, Status.OK, EMPTY);
  responsesSent(call);
}

function quit(call: Call): void {
  reply(call, Status.OK, EMPTY);
  call.out.push({ kind: "close" });
}

function flush(call: Call): void {
  call.ctx.stats.c.cmd_flush++;
  call.ctx.store.flush(call.req.extrasLength === 4 ? call.req.x0 : 0);
  reply(call, Status.OK, EMPTY);
}

function stat(call: Call): void {
  const lines = statReport(call.ctx, call.req.key);
  if (lines === undefined) return error(call, Status.KEY_ENOENT);
  for (const [name, value] of lines) {
    const res = response(call, Status.OK, value);
    res.key = name;
    call.out.push(res);
  }
  call.out.push(response(call, Status.OK, EMPTY));
}

function sasl(call: Call): void {
  const { req, ctx } = call;
  if (!ctx.settings.sasl) return error(call, Status.UNKNOWN_COMMAND);
  const result = saslCommand(req.opcode, req.key, req.value, ctx);
  if (result.status === Status.OK) return reply(call, Status.OK, result.body);
  error(call, result.status);
}

const OP_NAMES = Object.fromEntries(Object.entries(Op).map(([name, code]) => [code, name]));

function opName(opcode: number): string {
  return OP_NAMES[opcode] ?? `0x${opcode.toString(16).padStart(2, "0")}`;
}

/**
 * A `-vv` line in memcached's style: `<conn GET key`, `<conn TOUCH key`,
 * `<conn SET key Value len is N`, `<conn STATS group`, else `<conn OPCODE key`.
 */
function logLine(call: Call): string {
  const { req, op } = call;
  const who = `<${call.ctx.session.id}`;
  switch (op) {
    case Op.GET:
    case Op.GETK:
      return `${who} GET ${req.key}`;
    case Op.TOUCH:
    case Op.GAT:
    case Op.GATK:
      return `${who} TOUCH ${req.key}`;
    case Op.SET:
    case Op.ADD:
    case Op.REPLACE:
    case Op.APPEND:
    case Op.PREPEND:
      return `${who} ${opName(op)} ${req.key} Value len is ${req.value.length}`;
    case Op.STAT:
      return `${who} STATS ${req.key}`;
    default:
      return req.key === "" ? `${who} ${opName(op)}` : `${who} ${opName(op)} ${req.key}`;
  }
}
