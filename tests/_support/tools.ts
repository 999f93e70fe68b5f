/**
 * Gating tests on external programs: a test that needs a Debian tool runs
 * when the tool is installed, fails when it is missing under CI, and is
 * otherwise reported as ignored with a message naming the package.
 *
 * @module
 */

/** An external program and the Debian package that ships it. */
export interface Tool {
  /** Executable name or absolute path, e.g. `memccapable`. */
  command: string;
  /** Debian package, e.g. `libmemcached-tools`. */
  pkg: string;
  /** Extra check (e.g. a Python import) beyond the command existing. */
  probe?: string[];
}

export const MEMCACHED: Tool = { command: "memcached", pkg: "memcached" };
export const MEMCCAPABLE: Tool = { command: "memccapable", pkg: "libmemcached-tools" };
export const MEMCASLAP: Tool = { command: "memcaslap", pkg: "libmemcached-tools" };
export const PYLIBMC: Tool = {
  command: "/usr/bin/python3",
  pkg: "python3-pylibmc",
  probe: ["/usr/bin/python3", "-c", "import pylibmc"],
};
export const PYMEMCACHE: Tool = {
  command: "/usr/bin/python3",
  pkg: "python3-pymemcache",
  probe: ["/usr/bin/python3", "-c", "import pymemcache"],
};
export const OPENSSL: Tool = { command: "openssl", pkg: "openssl" };
export const SS: Tool = { command: "ss", pkg: "iproute2" };
export const PROMTOOL: Tool = { command: "promtool", pkg: "prometheus" };
export const PROMETHEUS: Tool = { command: "prometheus", pkg: "prometheus" };
/** util-linux's `script`, for running a command under a pseudo terminal. */
export const SCRIPT: Tool = { command: "script", pkg: "bsdutils" };
/** twemproxy; Debian installs it in /usr/sbin, often not on a user's PATH. */
export const NUTCRACKER: Tool = { command: "/usr/sbin/nutcracker", pkg: "nutcracker" };
export const SYSTEMD_ANALYZE: Tool = { command: "systemd-analyze", pkg: "systemd" };

const cache = new Map<string, boolean>();

/** Whether the tool can run here. */
export function hasTool(tool: Tool): boolean {
  const argv = tool.probe ?? [tool.command, "--help"];
  const id = argv.join(" ");
  let ok = cache.get(id);
  if (ok === undefined) {
    try {
      const out = new Deno.Command(argv[0], {
        args: argv.slice(1),
        stdout: "null",
        stderr: "null",
      }).outputSync();
      ok = tool.probe ? out.success : true;
    } catch {
      ok = false;
    }
    cache.set(id, ok);
  }
  return ok;
}

/**
 * Registers a test that needs `tools`. Missing tools: under `CI` the test
 * runs and fails naming the package; elsewhere it is ignored and a line says
 * which package to install.
 */
export function testWithTools(
  name: string,
  tools: Tool[],
  fn: (t: Deno.TestContext) => Promise<void> | void,
  options: Partial<Deno.TestDefinition> = {},
): void {
  const missing = tools.filter((tool) => !hasTool(tool));
  if (missing.length === 0) {
    Deno.test({ name, fn, ...options });
    return;
  }
  const pkgs = [...new Set(missing.map((t) => t.pkg))].join(" ");
  const why = `needs Debian package(s): ${pkgs} (apt-get install -y ${pkgs})`;
  if (Deno.env.get("CI")) {
    Deno.test({
      name,
      ...options,
      fn() {
        throw new Error(`Cannot run "${name}": ${why}`);
      },
    });
    return;
  }
  console.error(`skipping "${name}": ${why}`);
  Deno.test({ name: `${name} [skipped: ${why}]`, ignore: true, fn: () => {} });
}
