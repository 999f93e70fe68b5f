import { bytesToString } from "../bytes.ts";

/** The user and password of a SASL PLAIN message. */
export interface SaslPlainCredentials {
  user: string;
  password: string;
}

/**
 * Reads a SASL PLAIN message, `[authzid] NUL authcid NUL passwd`; the
 * authzid must be empty or the authcid. `undefined` for anything else.
 *
 * @example Usage
 * ```ts
 * import { parseSaslPlain } from "./parse_sasl_plain.ts";
 * import assert from "node:assert/strict";
 *
 * const message = new TextEncoder().encode("\0user\0secret");
 * assert.deepEqual(parseSaslPlain(message), { user: "user", password: "secret" });
 * assert.equal(parseSaslPlain(new TextEncoder().encode("other\0user\0secret")), undefined);
 * ```
 */
export function parseSaslPlain(data: Uint8Array): SaslPlainCredentials | undefined {
  const parts = bytesToString(data, 0, data.length).split("\0");
  if (parts.length !== 3) return undefined;
  const [authzid, user, password] = parts;
  if (authzid !== "" && authzid !== user) return undefined;
  return { user, password };
}
