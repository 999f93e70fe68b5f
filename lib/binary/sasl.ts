import type { CommandContext } from "../command_context.ts";
import { bytesToString } from "../bytes.ts";
import { Op, Status } from "./constants.ts";

/** The outcome of a SASL command. */
export interface SaslResult {
  status: number;
  body: string;
}

/**
 * Runs SASL_LIST_MECHS, SASL_AUTH or SASL_STEP with the PLAIN mechanism
 * against the auth file's credentials. Every attempt resets the session's
 * authentication first.
 *
 * @example Usage
 * ```ts ignore
 * const result = saslCommand(Op.SASL_AUTH, "PLAIN", bytes("\0user\0pass"), ctx);
 * ```
 */
export function saslCommand(
  opcode: number,
  mechanism: string,
  data: Uint8Array,
  ctx: CommandContext,
): SaslResult {
  const session = ctx.session;
  if (opcode === Op.SASL_LIST_MECHS) return { status: Status.OK, body: "PLAIN" };
  ctx.stats.c.auth_cmds++;
  session.authenticated = false;
  if (opcode === Op.SASL_STEP && !session.saslStarted) return fail(ctx);
  session.saslStarted = false;
  if (mechanism !== "PLAIN") return fail(ctx);
  // PLAIN: [authzid] NUL authcid NUL passwd
  const text = bytesToString(data, 0, data.length);
  const parts = text.split("\0");
  if (parts.length !== 3) return fail(ctx);
  const [, user, password] = parts;
  const expected = ctx.settings.credentials.get(user);
  if (expected === undefined || !constantTimeEqual(expected, password)) return fail(ctx);
  session.authenticated = true;
  return { status: Status.OK, body: "Authenticated" };
}

function fail(ctx: CommandContext): SaslResult {
  ctx.stats.c.auth_errors++;
  return { status: Status.AUTH_ERROR, body: "" };
}

/** Compares two byte strings in time that depends only on their lengths. */
export function constantTimeEqual(a: string, b: string): boolean {
  let diff = a.length ^ b.length;
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    diff |= (a.charCodeAt(i % (a.length || 1)) || 0) ^ (b.charCodeAt(i % (b.length || 1)) || 0);
  }
  return diff === 0;
}
