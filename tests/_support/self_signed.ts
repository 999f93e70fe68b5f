/**
 * A self-signed certificate made with `openssl` at test time (Debian package
 * `openssl`; gate tests with `OPENSSL` from `tools.ts`), for TLS tests.
 *
 * @module
 */

/** PEM files of a self-signed certificate, removed on dispose. */
export interface Certificate extends AsyncDisposable {
  certFile: string;
  keyFile: string;
  cert: string;
}

/** A self-signed certificate for 127.0.0.1 and localhost, valid one day. */
export async function selfSigned(): Promise<Certificate> {
  const dir = await Deno.makeTempDir({ prefix: "mbserver-tls-" });
  const certFile = `${dir}/cert.pem`;
  const keyFile = `${dir}/key.pem`;
  const out = await new Deno.Command("openssl", {
    args: [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      keyFile,
      "-out",
      certFile,
      "-days",
      "1",
      "-subj",
      "/CN=localhost",
      "-addext",
      "subjectAltName=DNS:localhost,IP:127.0.0.1",
      // rustls refuses a CA certificate as the server's own.
      "-addext",
      "basicConstraints=critical,CA:FALSE",
      "-addext",
      "extendedKeyUsage=serverAuth",
    ],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(
      `openssl could not make a certificate: ${new TextDecoder().decode(out.stderr)}`,
    );
  }
  return {
    certFile,
    keyFile,
    cert: await Deno.readTextFile(certFile),
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
}
