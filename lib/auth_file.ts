import { bytesToString } from "./bytes.ts";

/**
 * Credentials from memcached's auth file (`-Y FILE`): one `user:password`
 * per line, `\n` or `\r\n` line ends, the password running to the end of the
 * line (it may contain `:`). Names and passwords are byte strings (one char
 * per byte), so any bytes but NUL, CR and LF round-trip.
 *
 * The same credentials serve binary SASL PLAIN (`-S`) and text-protocol
 * authentication. Passwords are compared in constant time.
 *
 * @example Usage
 * ```ts
 * import { AuthFile } from "./auth_file.ts";
 * import assert from "node:assert/strict";
 *
 * const auth = AuthFile.parse("alice:s3cret\nbob:pa:ss\n");
 * assert.equal(auth.check("alice", "s3cret"), true);
 * assert.equal(auth.check("bob", "pa:ss"), true);
 * assert.equal(auth.check("alice", "wrong"), false);
 * ```
 */
export class AuthFile {
  /** `user -> password`. */
  readonly credentials: Map<string, string>;

  constructor(credentials: Map<string, string> = new Map()) {
    this.credentials = credentials;
  }

  /**
   * Parses the auth file's contents (a byte string or bytes).
   *
   * @throws {Error} naming the first line without a `user:` part.
   */
  static parse(contents: string | Uint8Array, source = "auth file"): AuthFile {
    const text = typeof contents === "string"
      ? contents
      : bytesToString(contents, 0, contents.length);
    const credentials = new Map<string, string>();
    const lines = text.split("\n");
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i].endsWith("\r") ? lines[i].slice(0, -1) : lines[i];
      if (line === "") continue;
      const colon = line.indexOf(":");
      if (colon <= 0) {
        throw new Error(`Cannot read ${source}: line ${i + 1} is not "user:password"`);
      }
      credentials.set(line.slice(0, colon), line.slice(colon + 1));
    }
    return new AuthFile(credentials);
  }

  /**
   * Reads and parses an auth file. Needs `--allow-read` for `path`.
   *
   * @throws {Error} when the file cannot be read or a line is malformed.
   */
  static read(path: string): AuthFile {
    let bytes: Uint8Array;
    try {
      bytes = Deno.readFileSync(path);
    } catch (err) {
      throw new Error(`Cannot read auth file ${path}: ${(err as Error).message}`);
    }
    return AuthFile.parse(bytes, `auth file ${path}`);
  }

  /** Whether `user` exists and `password` is theirs; time independent of where they differ. */
  check(user: string, password: string): boolean {
    return checkCredentials(this.credentials, user, password);
  }
}

/**
 * Looks `user` up in `credentials` and compares `password` in constant time
 * (for text-protocol auth that holds only the settings' map).
 */
export function checkCredentials(
  credentials: Map<string, string>,
  user: string,
  password: string,
): boolean {
  const expected = credentials.get(user);
  // Compare against something even for an unknown user, so a miss costs the same.
  const ok = constantTimeEqual(expected ?? password, password);
  return expected !== undefined && ok;
}

/** Compares two byte strings in time that depends only on the length of `b`. */
export function constantTimeEqual(a: string, b: string): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < b.length; i++) {
    // A shorter `a` reads NaN → 0 past its end; the length check above already failed.
    diff |= (a.charCodeAt(i) | 0) ^ b.charCodeAt(i);
  }
  return diff === 0;
}
