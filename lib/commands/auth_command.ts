import { checkCredentials } from "../auth_file.ts";
import type { Command } from "../command_context.ts";
import type { ConnectionState } from "../connection_state.ts";

/** Arguments of {@linkcode authCommand}. */
export interface AuthArgs {
  /** The connection to authenticate. */
  connection: ConnectionState;
  /** The user and password the client gave; absent when its message did not carry them. */
  user?: string;
  password?: string;
}

/** How an authentication attempt ends. */
export interface AuthResult {
  status: "ok" | "failed";
}

const OK: AuthResult = { status: "ok" };
const FAILED: AuthResult = { status: "failed" };

/**
 * One authentication attempt against the `-Y` auth file (binary SASL PLAIN,
 * text `-Y` auth): the connection loses any earlier authentication, gains it
 * when the user and password match, and the attempt counts in `auth_cmds`
 * (and `auth_errors` when it fails).
 *
 * @example Usage
 * ```ts
 * import { CommandContext } from "../command_context.ts";
 * import { ConnectionState } from "../connection_state.ts";
 * import { authCommand } from "./auth_command.ts";
 * import assert from "node:assert/strict";
 *
 * const context = new CommandContext({ settings: { credentials: new Map([["u", "p"]]) } });
 * const connection = new ConnectionState({ id: 1, context });
 * context.run(authCommand, { connection, user: "u", password: "p" });
 * assert.ok(connection.authenticated);
 * ```
 */
export const authCommand: Command<AuthArgs, AuthResult> = {
  name: "auth",
  access: "none",
  run(ctx, { connection, user, password }) {
    const c = ctx.stats.c;
    connection.authenticated = false;
    c.auth_cmds++;
    if (
      user !== undefined && password !== undefined &&
      checkCredentials(ctx.settings.credentials, user, password)
    ) {
      connection.authenticated = true;
      return OK;
    }
    c.auth_errors++;
    return FAILED;
  },
};
