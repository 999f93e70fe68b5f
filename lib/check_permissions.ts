/** A file the command line names, and the flag that names it. */
export interface FlagFile {
  /** The flag as the user wrote it, for the message: `-Y`, `-o ssl_key`. */
  flag: string;
  /** The path as given (relative paths are relative to the working directory). */
  path: string;
}

/** What the command line will need permission for. */
export interface NeededPermissions {
  /** Address the server will listen on, `host:port` (`[v6]:port`). */
  listen?: string;
  /** Files the server will read. */
  read?: FlagFile[];
  /** Files (or directories) the server will write. */
  write?: FlagFile[];
}

/**
 * Checks, without ever prompting, that the process already has the
 * permissions the command line needs, so that a missing one is a clear
 * refusal rather than Deno's interactive prompt on a terminal.
 * `Deno.permissions.querySync` only reports, it never asks.
 *
 * @returns `undefined` when everything is granted, else one line naming what
 * is missing and the exact `deno run` flags that grant it.
 *
 * @example Usage
 * ```ts
 * import { checkPermissions } from "./check_permissions.ts";
 *
 * // Run as `deno run --allow-net main.ts -S -Y auth.txt`, this is
 * // "No permission to read auth.txt (-Y): add --allow-read=auth.txt to the deno run flags".
 * const missing = checkPermissions({
 *   listen: "127.0.0.1:11211",
 *   read: [{ flag: "-Y", path: "auth.txt" }],
 * });
 * if (missing !== undefined) console.error(`mbserver: ${missing}`);
 * ```
 */
export function checkPermissions(needs: NeededPermissions): string | undefined {
  const what: string[] = [];
  const flags: string[] = [];
  if (needs.listen !== undefined && !granted({ name: "net", host: needs.listen })) {
    what.push(`listen on ${needs.listen}`);
    flags.push(shellWord(`--allow-net=${needs.listen}`));
  }
  for (const name of ["read", "write"] as const) {
    const denied = (needs[name] ?? []).filter((file) => !granted({ name, path: file.path }));
    if (denied.length === 0) continue;
    what.push(`${name} ${denied.map((file) => `${file.path} (${file.flag})`).join(", ")}`);
    const paths = [...new Set(denied.map((file) => file.path))];
    flags.push(shellWord(`--allow-${name}=${paths.join(",")}`));
  }
  if (what.length === 0) return undefined;
  return `No permission to ${what.join(" or ")}: add ${flags.join(" ")} to the deno run flags`;
}

function granted(descriptor: Deno.PermissionDescriptor): boolean {
  try {
    return Deno.permissions.querySync(descriptor).state === "granted";
  } catch {
    // A descriptor Deno cannot parse (a malformed host): let the operation report it.
    return true;
  }
}

/** Quotes `word` for a POSIX shell when it holds anything but plain path characters. */
function shellWord(word: string): string {
  return /^[\w.,:=\/@%+-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}
