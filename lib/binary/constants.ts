/** Binary protocol opcodes (memcached's `protocol_binary.h`). */
export const Op = {
  GET: 0x00,
  SET: 0x01,
  ADD: 0x02,
  REPLACE: 0x03,
  DELETE: 0x04,
  INCREMENT: 0x05,
  DECREMENT: 0x06,
  QUIT: 0x07,
  FLUSH: 0x08,
  GETQ: 0x09,
  NOOP: 0x0a,
  VERSION: 0x0b,
  GETK: 0x0c,
  GETKQ: 0x0d,
  APPEND: 0x0e,
  PREPEND: 0x0f,
  STAT: 0x10,
  SETQ: 0x11,
  ADDQ: 0x12,
  REPLACEQ: 0x13,
  DELETEQ: 0x14,
  INCREMENTQ: 0x15,
  DECREMENTQ: 0x16,
  QUITQ: 0x17,
  FLUSHQ: 0x18,
  APPENDQ: 0x19,
  PREPENDQ: 0x1a,
  VERBOSITY: 0x1b,
  TOUCH: 0x1c,
  GAT: 0x1d,
  GATQ: 0x1e,
  SASL_LIST_MECHS: 0x20,
  SASL_AUTH: 0x21,
  SASL_STEP: 0x22,
  GATK: 0x23,
  GATKQ: 0x24,
} as const;

/** Binary protocol response status codes. */
export const Status = {
  OK: 0x0000,
  KEY_ENOENT: 0x0001,
  KEY_EEXISTS: 0x0002,
  E2BIG: 0x0003,
  EINVAL: 0x0004,
  NOT_STORED: 0x0005,
  DELTA_BADVAL: 0x0006,
  AUTH_ERROR: 0x0020,
  AUTH_CONTINUE: 0x0021,
  UNKNOWN_COMMAND: 0x0081,
  ENOMEM: 0x0082,
} as const;

/** The error text memcached sends in the body of each error status. */
export const STATUS_TEXT: Readonly<Record<number, string>> = {
  [Status.KEY_ENOENT]: "Not found",
  [Status.KEY_EEXISTS]: "Data exists for key.",
  [Status.E2BIG]: "Too large.",
  [Status.EINVAL]: "Invalid arguments",
  [Status.NOT_STORED]: "Not stored.",
  [Status.DELTA_BADVAL]: "Non-numeric server-side value for incr or decr",
  [Status.AUTH_ERROR]: "Auth failure.",
  [Status.UNKNOWN_COMMAND]: "Unknown command",
  [Status.ENOMEM]: "Out of memory",
};

/** Request magic byte. */
export const REQUEST_MAGIC = 0x80;
/** Response magic byte. */
export const RESPONSE_MAGIC = 0x81;
/** Size of a request or response header. */
export const HEADER_SIZE = 24;
