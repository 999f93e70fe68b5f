/**
 * Binary-protocol SASL as memcached does it (`-S`, credentials from `-Y`):
 * exact reply bytes, the auth gate, resets, and a real client (pylibmc).
 */
import assert from "node:assert/strict";
import { AuthFile, checkCredentials, constantTimeEqual } from "../../lib/auth_file.ts";
import { parseFlags } from "../../lib/config.ts";
import { type RunningServer, startServer } from "../../lib/mod.ts";
import { binaryRequest, latin1, RawClient, toLatin1, words } from "../_support/raw_client.ts";
import { PYLIBMC, testWithTools } from "../_support/tools.ts";
import { bytes, errorReply as hostileError } from "./_hostile.ts";

const SASL_LIST_MECHS = 0x20;
const SASL_AUTH = 0x21;
const SASL_STEP = 0x22;
const AUTH_ERROR = 0x20;

/** An error reply as memcached sends it (opaque 0 unless given). */
function errorReply(opcode: number, status: number, text: string, opaque = 0): Uint8Array {
  return hostileError(opcode, status, text, opaque);
}

/** A success reply with `body` and no extras or key. */
function okReply(opcode: number, body: string, opaque = 0): Uint8Array {
  return hostileError(opcode, 0, body, opaque);
}

async function withSaslServer(fn: (server: RunningServer) => Promise<void>): Promise<void> {
  const path = await Deno.makeTempFile({ prefix: "mbserver-auth-" });
  try {
    await Deno.writeTextFile(path, "alice:s3cret\r\nbob:pa:ss\n");
    const server = await startServer({ port: 0, sasl: true, authFile: path });
    try {
      await fn(server);
    } finally {
      await server.close();
    }
  } finally {
    await Deno.remove(path);
  }
}

function auth(mechanism: string, data: string, opcode = SASL_AUTH, opaque = 0): Uint8Array {
  return binaryRequest({ opcode, key: mechanism, value: data, opaque });
}

async function expectBytes(client: RawClient, want: Uint8Array): Promise<void> {
  assert.deepEqual(toLatin1(await client.readExact(want.length)), toLatin1(want));
}

Deno.test("SASL_LIST_MECHS answers PLAIN", async () => {
  await withSaslServer(async (server) => {
    await using client = await RawClient.connect(server.port);
    await client.send(binaryRequest({ opcode: SASL_LIST_MECHS, opaque: 3 }));
    await expectBytes(client, okReply(SASL_LIST_MECHS, "PLAIN", 3));
  });
});

Deno.test("SASL refuses a command before authentication with 0x0020 and closes", async () => {
  await withSaslServer(async (server) => {
    await using client = await RawClient.connect(server.port);
    await client.send(binaryRequest({ opcode: 0x00, key: "k", opaque: 4 }));
    await expectBytes(client, errorReply(0x00, AUTH_ERROR, "Auth failure.", 4));
    assert.equal(await client.closedByPeer(), true);
  });
});

Deno.test("SASL refuses a quiet command before authentication too", async () => {
  await withSaslServer(async (server) => {
    await using client = await RawClient.connect(server.port);
    await client.send(
      binaryRequest({ opcode: 0x11, key: "k", extras: words(0, 0), value: "v", opaque: 5 }),
    );
    await expectBytes(client, errorReply(0x11, AUTH_ERROR, "Auth failure.", 5));
    assert.equal(await client.closedByPeer(), true);
  });
});

Deno.test("SASL lets VERSION through before authentication", async () => {
  await withSaslServer(async (server) => {
    await using client = await RawClient.connect(server.port);
    await client.send(binaryRequest({ opcode: 0x0b, opaque: 6 }));
    const reply = await client.readBinary();
    assert.equal(reply.status, 0);
    assert.equal(reply.opaque, 6);
  });
});

Deno.test("SASL_AUTH PLAIN with the auth file's password authenticates the connection", async () => {
  await withSaslServer(async (server) => {
    await using client = await RawClient.connect(server.port);
    await client.send(auth("PLAIN", "\0alice\0s3cret", SASL_AUTH, 7));
    await expectBytes(client, okReply(SASL_AUTH, "Authenticated", 7));
    await client.send(binaryRequest({ opcode: 0x01, key: "k", extras: words(0, 0), value: "v" }));
    assert.equal((await client.readBinary()).status, 0);
    await client.send(binaryRequest({ opcode: 0x00, key: "k" }));
    assert.equal(toLatin1((await client.readBinary()).value), "v");
    assert.equal(server.stats.c.auth_cmds, 1);
    assert.equal(server.stats.c.auth_errors, 0);
  });
});

Deno.test("SASL_AUTH PLAIN accepts a password with a colon, and an authzid equal to the user", async () => {
  await withSaslServer(async (server) => {
    await using client = await RawClient.connect(server.port);
    await client.send(auth("PLAIN", "bob\0bob\0pa:ss"));
    await expectBytes(client, okReply(SASL_AUTH, "Authenticated"));
  });
});

for (
  const [what, mechanism, data] of [
    ["a wrong password", "PLAIN", "\0alice\0wrong"],
    ["a password prefix", "PLAIN", "\0alice\0s3cre"],
    ["a longer password", "PLAIN", "\0alice\0s3cret!"],
    ["an unknown user", "PLAIN", "\0mallory\0s3cret"],
    ["another user's password", "PLAIN", "\0bob\0s3cret"],
    ["a foreign authzid", "PLAIN", "bob\0alice\0s3cret"],
    ["a message without NULs", "PLAIN", "alice s3cret"],
    ["an empty message", "PLAIN", ""],
    ["an unknown mechanism", "CRAM-MD5", "\0alice\0s3cret"],
    ["a lower-case mechanism", "plain", "\0alice\0s3cret"],
  ]
) {
  Deno.test(`SASL_AUTH fails with ${what}, keeps the connection, and still gates commands`, async () => {
    await withSaslServer(async (server) => {
      await using client = await RawClient.connect(server.port);
      await client.send(auth(mechanism, data, SASL_AUTH, 8));
      await expectBytes(client, errorReply(SASL_AUTH, AUTH_ERROR, "Auth failure.", 8));
      await client.send(binaryRequest({ opcode: 0x0a, opaque: 9 }));
      await expectBytes(client, errorReply(0x0a, AUTH_ERROR, "Auth failure.", 9));
      assert.equal(await client.closedByPeer(), true);
      assert.equal(server.stats.c.auth_errors, 1);
    });
  });
}

Deno.test("SASL_STEP with nothing in progress is an auth error", async () => {
  await withSaslServer(async (server) => {
    await using client = await RawClient.connect(server.port);
    await client.send(auth("PLAIN", "\0alice\0s3cret", SASL_STEP, 10));
    await expectBytes(client, errorReply(SASL_STEP, AUTH_ERROR, "Auth failure.", 10));
    await client.send(binaryRequest({ opcode: 0x0a }));
    assert.equal((await client.readBinary()).status, AUTH_ERROR);
  });
});

Deno.test("SASL: every attempt resets, so a failed attempt after success locks the connection", async () => {
  await withSaslServer(async (server) => {
    await using client = await RawClient.connect(server.port);
    await client.send(auth("PLAIN", "\0alice\0s3cret"));
    await expectBytes(client, okReply(SASL_AUTH, "Authenticated"));
    await client.send(auth("PLAIN", "\0alice\0nope"));
    await expectBytes(client, errorReply(SASL_AUTH, AUTH_ERROR, "Auth failure."));
    await client.send(binaryRequest({ opcode: 0x0a, opaque: 11 }));
    await expectBytes(client, errorReply(0x0a, AUTH_ERROR, "Auth failure.", 11));
    assert.equal(await client.closedByPeer(), true);
  });
});

Deno.test("SASL: a step after a finished PLAIN exchange fails and drops the authentication", async () => {
  await withSaslServer(async (server) => {
    await using client = await RawClient.connect(server.port);
    await client.send(auth("PLAIN", "\0alice\0s3cret"));
    await expectBytes(client, okReply(SASL_AUTH, "Authenticated"));
    await client.send(auth("PLAIN", "\0alice\0s3cret", SASL_STEP));
    await expectBytes(client, errorReply(SASL_STEP, AUTH_ERROR, "Auth failure."));
    await client.send(binaryRequest({ opcode: 0x0a }));
    assert.equal((await client.readBinary()).status, AUTH_ERROR);
  });
});

Deno.test("SASL_AUTH with a mechanism name over 32 bytes is Invalid arguments", async () => {
  await withSaslServer(async (server) => {
    await using client = await RawClient.connect(server.port);
    await client.send(auth("P".repeat(33), "\0alice\0s3cret", SASL_AUTH, 12));
    await expectBytes(client, errorReply(SASL_AUTH, 0x0004, "Invalid arguments", 12));
    await client.send(binaryRequest({ opcode: SASL_LIST_MECHS }));
    await expectBytes(client, okReply(SASL_LIST_MECHS, "PLAIN"));
  });
});

Deno.test("SASL commands are unknown when -S is off", async () => {
  const server = await startServer({ port: 0 });
  try {
    await using client = await RawClient.connect(server.port);
    await client.send(
      bytes(binaryRequest({ opcode: SASL_LIST_MECHS }), auth("PLAIN", "\0a\0b", SASL_AUTH)),
    );
    await expectBytes(client, errorReply(SASL_LIST_MECHS, 0x0081, "Unknown command", 0));
    await expectBytes(client, errorReply(SASL_AUTH, 0x0081, "Unknown command", 0));
    await client.send(binaryRequest({ opcode: 0x0a }));
    assert.equal((await client.readBinary()).status, 0);
  } finally {
    await server.close();
  }
});

testWithTools(
  "pylibmc authenticates with SASL PLAIN and is refused a wrong password",
  [PYLIBMC],
  async () => {
    await withSaslServer(async (server) => {
      const script = `
import pylibmc, sys
port = int(sys.argv[1])
good = pylibmc.Client(["127.0.0.1:%d" % port], binary=True, username="alice", password="s3cret")
good.set("greeting", "hello")
print(good.get("greeting"))
bad = pylibmc.Client(["127.0.0.1:%d" % port], binary=True, username="alice", password="nope")
try:
    bad.set("greeting", "evil")
    print("bad password accepted")
except pylibmc.Error as e:
    print("refused")
print(good.get("greeting"))
`;
      const out = await new Deno.Command("/usr/bin/python3", {
        args: ["-c", script, String(server.port)],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stdout = new TextDecoder().decode(out.stdout);
      assert.equal(stdout, "hello\nrefused\nhello\n", new TextDecoder().decode(out.stderr));
    });
  },
);

Deno.test("AuthFile parses memcached's user:password lines", () => {
  const auth = AuthFile.parse(latin1("alice:s3cret\r\nbob:pa:ss\n\ncarol:\xe9t\xe9\n"));
  assert.deepEqual([...auth.credentials], [
    ["alice", "s3cret"],
    ["bob", "pa:ss"],
    ["carol", "\xe9t\xe9"],
  ]);
  assert.equal(auth.check("carol", "\xe9t\xe9"), true);
  assert.throws(() => AuthFile.parse("alice:x\nnocolon\n"), /line 2 is not "user:password"/);
  assert.throws(() => AuthFile.parse(":nouser\n"), /line 1/);
});

Deno.test("AuthFile.read names a file it cannot read", () => {
  assert.throws(() => AuthFile.read("/nonexistent/mbserver-auth"), /Cannot read auth file/);
});

Deno.test("checkCredentials compares whole passwords", () => {
  const credentials = new Map([["u", "secret"]]);
  assert.equal(checkCredentials(credentials, "u", "secret"), true);
  for (const wrong of ["", "s", "secre", "secreT", "secrets", "secret\0"]) {
    assert.equal(checkCredentials(credentials, "u", wrong), false, wrong);
  }
  assert.equal(checkCredentials(credentials, "x", "secret"), false);
  assert.equal(constantTimeEqual("", ""), true);
  assert.equal(constantTimeEqual("abc", "abd"), false);
  assert.equal(constantTimeEqual("ab", "abc"), false);
});

Deno.test("parseFlags reads -S and -Y", () => {
  const cli = parseFlags(["-S", "-Y", "/etc/mbserver.auth"]);
  assert.equal(cli.action, "serve");
  if (cli.action === "serve") {
    assert.equal(cli.options.sasl, true);
    assert.equal(cli.options.authFile, "/etc/mbserver.auth");
  }
});
