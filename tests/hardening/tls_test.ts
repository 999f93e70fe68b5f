/**
 * TLS (`-Z -o ssl_chain_cert=FILE,ssl_key=FILE`): a self-signed certificate
 * made with `openssl` at test time, clients over `Deno.connectTls` with that
 * certificate as their CA.
 */
import assert from "node:assert/strict";
import { parseFlags } from "../../lib/config.ts";
import { startServer } from "../../lib/mod.ts";
import { binaryRequest, words } from "../_support/raw_client.ts";
import { type Certificate, selfSigned } from "../_support/self_signed.ts";
import { OPENSSL, testWithTools } from "../_support/tools.ts";
import { startMain } from "./_main_process.ts";

/** A server on port 0 serving TLS with `cert`. */
function startTlsServer(cert: Certificate) {
  return startServer({ port: 0, tls: true, tlsCertFile: cert.certFile, tlsKeyFile: cert.keyFile });
}

/** A TLS client trusting `cert`. */
function connectTls(port: number, cert: Certificate): Promise<Deno.TlsConn> {
  return Deno.connectTls({ hostname: "127.0.0.1", port, caCerts: [cert.cert] });
}

/** A minimal binary client over a TLS connection. */
async function tlsRoundTrip(conn: Deno.TlsConn, frame: Uint8Array) {
  let done = 0;
  while (done < frame.length) done += await conn.write(frame.subarray(done));
  const header = await readExactly(conn, 24);
  const view = new DataView(header.buffer);
  const body = await readExactly(conn, view.getUint32(8));
  return { status: view.getUint16(6), opaque: view.getUint32(12), extras: header[4], body };
}

async function readExactly(conn: Deno.Conn, n: number): Promise<Uint8Array> {
  const out = new Uint8Array(n);
  let got = 0;
  while (got < n) {
    const r = await conn.read(out.subarray(got));
    if (r === null) throw new Error(`Connection closed after ${got} of ${n} bytes`);
    got += r;
  }
  return out;
}

testWithTools("Server serves the binary protocol over TLS", [OPENSSL], async () => {
  await using cert = await selfSigned();
  const server = await startTlsServer(cert);
  try {
    const conn = await connectTls(server.port, cert);
    try {
      const version = await tlsRoundTrip(conn, binaryRequest({ opcode: 0x0b, opaque: 1 }));
      assert.equal(version.status, 0);
      assert.match(new TextDecoder().decode(version.body), /^1\.6/);
      const value = new Uint8Array(200_000).map((_, i) => i & 0xff);
      const set = await tlsRoundTrip(
        conn,
        binaryRequest({ opcode: 0x01, key: "tls", extras: words(7, 0), value }),
      );
      assert.equal(set.status, 0);
      const get = await tlsRoundTrip(conn, binaryRequest({ opcode: 0x00, key: "tls", opaque: 2 }));
      assert.equal(get.status, 0);
      assert.equal(get.opaque, 2);
      assert.deepEqual(get.body.subarray(4), value);
    } finally {
      conn.close();
    }
  } finally {
    await server.close();
  }
});

testWithTools("Server serves the text and meta protocols over TLS", [OPENSSL], async () => {
  await using cert = await selfSigned();
  const server = await startTlsServer(cert);
  try {
    const conn = await connectTls(server.port, cert);
    try {
      const request = "set k 3 0 5\r\nhello\r\nget k\r\nmg k v f\r\nmn\r\n";
      const expected = "STORED\r\nVALUE k 3 5\r\nhello\r\nEND\r\nVA 5 f3\r\nhello\r\nMN\r\n";
      await conn.write(new TextEncoder().encode(request));
      const reply = await readExactly(conn, expected.length);
      assert.equal(new TextDecoder().decode(reply), expected);
    } finally {
      conn.close();
    }
  } finally {
    await server.close();
  }
});

testWithTools(
  "Server over TLS survives a plain-text client and a client that rejects its certificate",
  [OPENSSL],
  async () => {
    await using cert = await selfSigned();
    await using other = await selfSigned();
    const server = await startServer({
      port: 0,
      tls: true,
      tlsCertFile: cert.certFile,
      tlsKeyFile: cert.keyFile,
    });
    try {
      // Plain bytes where a TLS ClientHello belongs.
      const plain = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
      await plain.write(binaryRequest({ opcode: 0x0b }));
      const buf = new Uint8Array(64);
      const n = await plain.read(buf).catch(() => null);
      assert.ok(n === null || buf[0] !== 0x81, "no memcached answer over plain TCP");
      plain.close();
      // A client that trusts a different CA.
      await assert.rejects(async () => {
        const conn = await Deno.connectTls({
          hostname: "127.0.0.1",
          port: server.port,
          caCerts: [other.cert],
        });
        try {
          await tlsRoundTrip(conn, binaryRequest({ opcode: 0x0b }));
        } finally {
          conn.close();
        }
      });
      const conn = await Deno.connectTls({
        hostname: "localhost",
        port: server.port,
        caCerts: [cert.cert],
      });
      try {
        assert.equal((await tlsRoundTrip(conn, binaryRequest({ opcode: 0x0a }))).status, 0);
      } finally {
        conn.close();
      }
    } finally {
      await server.close();
    }
  },
);

testWithTools(
  "main.ts serves TLS with -Z -o ssl_chain_cert=,ssl_key= and --allow-read",
  [OPENSSL],
  async () => {
    await using cert = await selfSigned();
    await using main = await startMain(
      ["-Z", "-o", `ssl_chain_cert=${cert.certFile},ssl_key=${cert.keyFile}`],
      { allowRead: true },
    );
    const conn = await Deno.connectTls({
      hostname: "127.0.0.1",
      port: main.port,
      caCerts: [cert.cert],
    });
    try {
      const reply = await tlsRoundTrip(conn, binaryRequest({ opcode: 0x0b, opaque: 5 }));
      assert.equal(reply.status, 0);
      assert.equal(reply.opaque, 5);
    } finally {
      conn.close();
    }
    main.child.kill("SIGTERM");
    assert.equal((await main.child.status).code, 0);
  },
);

Deno.test("parseFlags requires both TLS files with -Z", () => {
  assert.throws(() => parseFlags(["-Z"]), /-Z needs -o ssl_chain_cert=FILE,ssl_key=FILE/);
  assert.throws(() => parseFlags(["-Z", "-o", "ssl_chain_cert=a.pem"]), /-Z needs/);
  const cli = parseFlags(["-Z", "-o", "ssl_chain_cert=a.pem,ssl_key=b.pem"]);
  assert.equal(cli.action === "serve" && cli.options.tlsKeyFile, "b.pem");
});
