import { checkCredentials } from "../auth_file.ts";
import type { CommandContext } from "../command_context.ts";
import { bytesToString } from "../bytes.ts";
import { Op, Status } from "./constants.ts";

/** Longest mechanism name memcached accepts (`MAX_SASL_MECH_LEN`). */
export const MAX_MECHANISM_LENGTH = 32;

/** The mechanisms offered by SASL_LIST_MECHS. */
export const MECHANISMS = "PLAIN";

/** The outcome of a SASL command. */
export interface SaslResult {
  status: number;
  body: string;
}

/**
 * Runs SASL_LIST_MECHS, SASL_AUTH or SASL_STEP with the PLAIN mechanism
 * against the auth file's credentials, as memcached's binary protocol does:
 *
 * - SASL_LIST_MECHS answers `"PLAIN"`.
 * - SASL_AUTH `PLAIN` with `[authzid] NUL authcid NUL passwd` authenticates
 *   the connection ("Authenticated"); the authzid must be empty or the
 *   authcid. Anything else is an auth error.
 * - SASL_STEP is an auth error: nothing is ever in progress, since PLAIN
 *   completes in one step.
 * - A mechanism name over 32 bytes is "Invalid arguments".
 *
 * Every SASL_AUTH and SASL_STEP first drops the connection's authentication,
 * so a failed attempt leaves it unauthenticated.
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
  if (opcode === Op.SASL_LIST_MECHS) return { status: Status.OK, body: MECHANISMS };
  if (mechanism.length > MAX_MECHANISM_LENGTH) return { status: Status.EINVAL, body: "" };
  session.authenticated = false;
  // PLAIN finishes in SASL_AUTH, so a step never has an exchange to continue.
  if (opcode === Op.SASL_STEP) return fail(ctx);
  if (mechanism !== "PLAIN") return fail(ctx);
  const user = plainUser(data, ctx);
  if (user === undefined) return fail(ctx);
  session.authenticated = true;
  ctx.stats.c.auth_cmds++;
  return { status: Status.OK, body: "Authenticated" };
}

/** Checks a PLAIN message; returns the authenticated user, or undefined. */
function plainUser(data: Uint8Array, ctx: CommandContext): string | undefined {
  const parts = bytesToString(data, 0, data.length).split("\0");
  if (parts.length !== 3) return undefined;
  const [authzid, user, password] = parts;
  const ok = checkCredentials(ctx.settings.credentials, user, password);
  if (!ok || (authzid !== "" && authzid !== user)) return undefined;
  return user;
}

function fail(ctx: CommandContext): SaslResult {
  ctx.stats.c.auth_cmds++;
  ctx.stats.c.auth_errors++;
  return { status: Status.AUTH_ERROR, body: "" };
}
