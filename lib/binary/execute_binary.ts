import { bytesToString, EMPTY } from "../bytes.ts";
import type { Access } from "../command_context.ts";
import { arithmeticCommand } from "../commands/arithmetic_command.ts";
import { authCommand } from "../commands/auth_command.ts";
import { detailCommand } from "../commands/detail_command.ts";
import { deleteCommand } from "../commands/delete_command.ts";
import { flushCommand } from "../commands/flush_command.ts";
import { getCommand } from "../commands/get_command.ts";
import { statsCommand } from "../commands/stats_command.ts";
import { storeCommand } from "../commands/store_command.ts";
import { touchCommand } from "../commands/touch_command.ts";
import type { ConnectionState } from "../connection_state.ts";
import { KEY_MAX_LENGTH } from "../constants.ts";
import type {
  ArithmeticExtras,
  BinaryRequest,
  BinaryResponse,
  StorageExtras,
  TouchExtras,
} from "../messages.ts";
import type { StoreMode } from "../store/store.ts";
import { Op, Status, STATUS_TEXT } from "./constants.ts";
import { parseSaslPlain } from "./parse_sasl_plain.ts";

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

/** Longest SASL mechanism name memcached accepts (`MAX_SASL_MECH_LEN`). */
const MAX_MECHANISM_LENGTH = 32;

/** One command in flight: the request, its loud opcode, and its connection. */
interface Call {
  req: BinaryRequest;
  op: number;
  quiet: boolean;
  connection: ConnectionState;
}

/**
 * Runs one binary protocol request as memcached 1.6 does: checks it, runs
 * its command through the command layer, and queues the replies on the
 * connection (none for a quiet success; a `"close"` when the connection must
 * close).
 *
 * @example Usage
 * ```ts
 * import { CommandContext } from "../command_context.ts";
 * import { ConnectionState } from "../connection_state.ts";
 * import { executeBinary } from "./execute_binary.ts";
 * import assert from "node:assert/strict";
 *
 * const connection = new ConnectionState({ id: 1, context: new CommandContext() });
 * const out = connection.begin();
 * executeBinary({
 *   kind: "binary", opcode: 0x0a, keyLength: 0, extrasLength: 0, bodyLength: 0,
 *   opaque: 7, cas: 0, extras: undefined, key: new Uint8Array(0), value: new Uint8Array(0),
 * }, connection);
 * assert.ok(out[0].kind === "binary" && out[0].opaque === 7);
 * ```
 */
export function executeBinary(req: BinaryRequest, connection: ConnectionState): void {
  const loud = QUIET[req.opcode];
  const call: Call = { req, op: loud ?? req.opcode, quiet: loud !== undefined, connection };
  const { settings } = connection.context;
  if (settings.sasl && !connection.authenticated && !exemptFromAuth(req.opcode)) {
    error(call, Status.AUTH_ERROR);
    connection.close();
    return;
  }
  if (req.keyLength > KEY_MAX_LENGTH) return protocolError(call);
  if (settings.verbose > 1) connection.context.log(logLine(call));
  const handler = HANDLERS[call.op];
  if (!handler) return error(call, Status.UNKNOWN_COMMAND, { swallowed: req.bodyLength > 0 });
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
  /** The store lock its command needs (`Command.access`). */
  access: Access;
}

/**
 * The share of the store lock a binary request needs: what its opcode's
 * command asks for. The dispatcher takes it before running the request.
 *
 * @example Usage
 * ```ts
 * import { binaryAccess } from "./execute_binary.ts";
 * import assert from "node:assert/strict";
 *
 * const get = { kind: "binary" as const, opcode: 0x00, keyLength: 1, extrasLength: 0,
 *   bodyLength: 1, opaque: 0, cas: 0, extras: undefined, key: new Uint8Array(1),
 *   value: new Uint8Array(0) };
 * assert.equal(binaryAccess(get), "read");
 * assert.equal(binaryAccess({ ...get, opcode: 0x01 }), "write");
 * ```
 */
export function binaryAccess(req: BinaryRequest): Access {
  return HANDLERS[QUIET[req.opcode] ?? req.opcode]?.access ?? "none";
}

/**
 * Whether a request may run optimistically, holding no share of the store
 * lock (see `RwLock.optimistic`): a get of one key, which changes nothing
 * on the connection before its one look at the store, so that it can run
 * again under a share if that look meets a writer.
 */
export function binaryReadsOnce(req: BinaryRequest): boolean {
  const op = QUIET[req.opcode] ?? req.opcode;
  return op === Op.GET || op === Op.GETK;
}

const bare = (r: BinaryRequest) => r.extrasLength === 0 && r.keyLength === 0 && r.bodyLength === 0;
const keyOnly = (r: BinaryRequest) =>
  r.extrasLength === 0 && r.keyLength > 0 && r.bodyLength === r.keyLength;
const update = (r: BinaryRequest) =>
  r.extras?.family === "storage" && r.keyLength > 0 && r.bodyLength >= r.keyLength + 8;
const concat = (r: BinaryRequest) => r.extrasLength === 0 && r.keyLength > 0;
const touchLike = (r: BinaryRequest) => r.extras?.family === "touch" && r.keyLength > 0;
const arithmetic = (r: BinaryRequest) =>
  r.extras?.family === "arithmetic" && r.keyLength > 0 && r.bodyLength === r.keyLength + 20;
const flushLike = (r: BinaryRequest) =>
  r.keyLength === 0 && r.bodyLength === r.extrasLength &&
  (r.extrasLength === 0 || r.extras?.family === "flush");
const saslKeyed = (r: BinaryRequest) => r.extrasLength === 0 && r.keyLength > 0;

const HANDLERS: Readonly<Record<number, Handler>> = {
  [Op.GET]: { valid: keyOnly, run: get, access: getCommand.access },
  [Op.GETK]: { valid: keyOnly, run: get, access: getCommand.access },
  [Op.TOUCH]: { valid: touchLike, run: get, access: touchCommand.access },
  [Op.GAT]: { valid: touchLike, run: get, access: touchCommand.access },
  [Op.GATK]: { valid: touchLike, run: get, access: touchCommand.access },
  [Op.SET]: { valid: update, run: storeItem, access: storeCommand.access },
  [Op.ADD]: { valid: update, run: storeItem, access: storeCommand.access },
  [Op.REPLACE]: { valid: update, run: storeItem, access: storeCommand.access },
  [Op.APPEND]: { valid: concat, run: storeItem, access: storeCommand.access },
  [Op.PREPEND]: { valid: concat, run: storeItem, access: storeCommand.access },
  [Op.DELETE]: { valid: keyOnly, run: remove, access: deleteCommand.access },
  [Op.INCREMENT]: { valid: arithmetic, run: delta, access: arithmeticCommand.access },
  [Op.DECREMENT]: { valid: arithmetic, run: delta, access: arithmeticCommand.access },
  [Op.QUIT]: { valid: bare, run: quit, access: "none" },
  [Op.FLUSH]: { valid: flushLike, run: flush, access: flushCommand.access },
  [Op.NOOP]: { valid: bare, run: noop, access: "none" },
  [Op.VERSION]: {
    valid: bare,
    run: (call) => reply(call, { value: settingsOf(call).version }),
    access: "none",
  },
  [Op.STAT]: { valid: (r) => r.extrasLength === 0, run: stat, access: statsCommand.access },
  [Op.SASL_LIST_MECHS]: { valid: bare, run: sasl, access: authCommand.access },
  [Op.SASL_AUTH]: { valid: saslKeyed, run: sasl, access: authCommand.access },
  [Op.SASL_STEP]: { valid: saslKeyed, run: sasl, access: authCommand.access },
};

function settingsOf(call: Call) {
  return call.connection.context.settings;
}

function response(call: Call, status: number, value: Uint8Array | string): BinaryResponse {
  return {
    kind: "binary",
    opcode: call.req.opcode,
    status,
    opaque: call.req.opaque,
    cas: 0,
    key: EMPTY,
    value,
  };
}

/** A success reply; quiet commands send none. */
function reply(call: Call, fields: { value?: Uint8Array | string; cas?: number } = {}): void {
  if (call.quiet) return;
  const res = response(call, Status.OK, fields.value ?? EMPTY);
  res.cas = fields.cas ?? 0;
  call.connection.reply(res);
}

/**
 * An error reply with memcached's text; sent for quiet commands too. Unless
 * memcached swallows a body after it (`swallowed`), it sends its queue then.
 */
function error(call: Call, status: number, options: { swallowed?: boolean } = {}): void {
  call.connection.reply(response(call, status, STATUS_TEXT[status]));
  if (!options.swallowed) call.connection.transmitted();
}

/** memcached's `handle_binary_protocol_error`: "Invalid arguments", then close. */
function protocolError(call: Call): void {
  error(call, Status.EINVAL);
  call.connection.close();
}

function get(call: Call): void {
  const { req, op, connection } = call;
  const { context } = connection;
  const withKey = op === Op.GETK || op === Op.GATK;
  const into = op === Op.TOUCH ? undefined : connection.values;
  const result = op === Op.GET || op === Op.GETK
    ? context.run(getCommand, { key: req.key, into })
    : context.run(touchCommand, {
      key: req.key,
      exptime: (req.extras as TouchExtras).exptime,
      into,
      detailGet: true,
    });
  if (result.status === "miss") {
    if (call.quiet) return;
    if (!withKey) return error(call, Status.KEY_ENOENT);
    const res = response(call, Status.KEY_ENOENT, EMPTY);
    res.key = req.key;
    connection.reply(res);
    return;
  }
  const { item } = result;
  const res = response(call, Status.OK, op === Op.TOUCH ? EMPTY : item.value);
  res.cas = item.cas;
  res.flags = item.flags;
  if (withKey) res.key = req.key;
  connection.reply(res);
}

const MODES: Readonly<Record<number, StoreMode>> = {
  [Op.SET]: "set",
  [Op.ADD]: "add",
  [Op.REPLACE]: "replace",
  [Op.APPEND]: "append",
  [Op.PREPEND]: "prepend",
};

const NO_EXTRAS = { flags: 0, exptime: 0 };

function storeItem(call: Call): void {
  const { req, op } = call;
  const { flags, exptime } = (req.extras as StorageExtras | undefined) ?? NO_EXTRAS;
  // memcached turns any set/add/replace carrying a CAS into a CAS store.
  const mode = req.cas !== 0 && op <= Op.REPLACE ? "cas" : MODES[op];
  const result = call.connection.context.run(storeCommand, {
    mode,
    key: req.key,
    value: req.value,
    flags,
    exptime,
    cas: req.cas,
    // A too-large SET drops the old value, even one carrying a CAS.
    unlinkIfTooLarge: op === Op.SET,
    countFailures: false,
    detailSet: true,
  });
  switch (result.status) {
    case "stored":
      return reply(call, { cas: result.item!.cas });
    case "exists":
      return error(call, Status.KEY_EEXISTS);
    case "not_found":
      return error(call, Status.KEY_ENOENT);
    case "too_large":
      return error(call, Status.E2BIG, { swallowed: true });
    case "no_memory":
      return error(call, Status.ENOMEM);
    case "not_stored":
    case "bad_chunk":
      if (mode === "add") return error(call, Status.KEY_EEXISTS);
      if (mode === "replace") return error(call, Status.KEY_ENOENT);
      return error(call, Status.NOT_STORED);
  }
}

function remove(call: Call): void {
  const { req } = call;
  const result = call.connection.context.run(deleteCommand, { key: req.key, cas: req.cas });
  switch (result.status) {
    case "deleted":
      return reply(call);
    case "exists":
      return error(call, Status.KEY_EEXISTS);
    case "not_found":
      return error(call, Status.KEY_ENOENT);
  }
}

function delta(call: Call): void {
  const { req, op, connection } = call;
  const extras = req.extras as ArithmeticExtras;
  const result = connection.context.run(arithmeticCommand, {
    key: req.key,
    op: op === Op.INCREMENT ? "incr" : "decr",
    delta: extras.delta,
    cas: req.cas,
    create: extras.exptime === 0xffffffff
      ? undefined
      : { initial: extras.initial, exptime: extras.exptime },
    heldByReply: connection.holdsItem,
  });
  switch (result.status) {
    case "ok":
      return reply(call, { value: u64(result.value), cas: result.item.cas });
    case "non_numeric":
      return error(call, Status.DELTA_BADVAL);
    case "exists":
      return error(call, Status.KEY_EEXISTS);
    case "no_memory":
      return error(call, Status.ENOMEM);
    case "not_found":
      return error(call, Status.KEY_ENOENT);
    case "not_created":
      return error(call, result.outOfMemory ? Status.ENOMEM : Status.NOT_STORED);
  }
}

function u64(value: bigint): Uint8Array {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setBigUint64(0, value);
  return bytes;
}

/** NOOP answers and makes memcached send everything queued. */
function noop(call: Call): void {
  reply(call);
  call.connection.transmitted();
}

function quit(call: Call): void {
  reply(call);
  call.connection.close();
}

function flush(call: Call): void {
  const { extras } = call.req;
  const delay = extras?.family === "flush" ? extras.delay : 0;
  call.connection.context.run(flushCommand, { delay });
  reply(call);
}

/**
 * STAT, keyed as memcached's `process_bin_stat` reads the key: empty for the
 * general stats; `reset`, `settings` and `detail on|off|dump` by prefix;
 * `items`, `slabs` and `sizes` exactly; anything else (`conns` and
 * `cachedump` too) is "Not found".
 */
function stat(call: Call): void {
  const { context } = call.connection;
  const key = bytesToString(call.req.key, 0, call.req.key.length);
  let lines: [string, string][];
  if (key.startsWith("detail")) {
    const rest = key.slice(6);
    const action = rest.startsWith(" dump")
      ? "dump"
      : rest.startsWith(" on")
      ? "on"
      : rest.startsWith(" off")
      ? "off"
      : undefined;
    if (action === undefined) return error(call, Status.KEY_ENOENT);
    const { dump } = context.run(detailCommand, { action });
    lines = dump === undefined ? [] : [["detailed", dump]];
  } else {
    const group = key === "" || key === "items" || key === "slabs" || key === "sizes"
      ? key
      : key.startsWith("reset")
      ? "reset"
      : key.startsWith("settings")
      ? "settings"
      : undefined;
    const result = group === undefined ? undefined : context.run(statsCommand, { group });
    if (result === undefined || result.status === "unknown") {
      return error(call, Status.KEY_ENOENT);
    }
    lines = result.lines;
  }
  for (const [name, value] of lines) {
    const res = response(call, Status.OK, value);
    res.key = name;
    call.connection.reply(res);
  }
  call.connection.reply(response(call, Status.OK, EMPTY));
}

/**
 * SASL with the PLAIN mechanism, as memcached's binary protocol does it:
 * LIST_MECHS answers `PLAIN`; a mechanism name over 32 bytes is "Invalid
 * arguments"; AUTH `PLAIN` with a good message authenticates; anything else,
 * and every STEP (PLAIN completes in one step), is an auth error. Every AUTH
 * and STEP drops the connection's earlier authentication first.
 */
function sasl(call: Call): void {
  const { req, connection } = call;
  if (!settingsOf(call).sasl) return error(call, Status.UNKNOWN_COMMAND);
  if (req.opcode === Op.SASL_LIST_MECHS) return reply(call, { value: "PLAIN" });
  if (req.key.length > MAX_MECHANISM_LENGTH) return error(call, Status.EINVAL);
  const plain = req.opcode === Op.SASL_AUTH && bytesToString(req.key, 0, req.key.length) === "PLAIN"
    ? parseSaslPlain(req.value)
    : undefined;
  const result = connection.context.run(authCommand, {
    connection,
    user: plain?.user,
    password: plain?.password,
  });
  if (result.status === "ok") return reply(call, { value: "Authenticated" });
  error(call, Status.AUTH_ERROR);
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
  const { op } = call;
  const req = { key: bytesToString(call.req.key, 0, call.req.key.length), value: call.req.value };
  const who = `<${call.connection.id}`;
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
