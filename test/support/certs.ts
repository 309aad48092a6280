/**
 * A throw-away PKI for TLS tests, made with the openssl CLI (EC P-256, valid 2 days):
 * a CA, a server certificate for 127.0.0.1 / ::1 / localhost, a client certificate (CN "router")
 * signed by the CA, and a client certificate from an unrelated CA that must be refused.
 *
 *   const pki = testPki(t);   // files under a temp dir, removed after the test
 *   tlsServerOptions({ certFile: pki.server.cert, keyFile: pki.server.key, caFile: pki.ca.cert, ... })
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";

export interface CertFiles {
  cert: string;
  key: string;
}

export interface TestPki {
  dir: string;
  ca: CertFiles;
  server: CertFiles;
  client: CertFiles;
  /** Signed by another CA: a valid-looking certificate our CA never issued. */
  rogueClient: CertFiles;
}

function openssl(dir: string, args: string[]): void {
  execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
}

function makeCa(dir: string, name: string, cn: string): CertFiles {
  const ca = { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
  openssl(dir, [
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
    "-keyout", ca.key, "-out", ca.cert, "-subj", `/CN=${cn}`,
    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
  ]);
  return ca;
}

function makeLeaf(dir: string, ca: CertFiles, name: string, cn: string, ext: string): CertFiles {
  const leaf = { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
  const csr = join(dir, `${name}.csr`);
  const extFile = join(dir, `${name}.ext`);
  writeFileSync(extFile, `basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n${ext}\n`);
  openssl(dir, ["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", leaf.key, "-out", csr, "-subj", `/CN=${cn}`]);
  openssl(dir, ["x509", "-req", "-in", csr, "-CA", ca.cert, "-CAkey", ca.key, "-CAcreateserial", "-days", "2", "-out", leaf.cert, "-extfile", extFile]);
  return leaf;
}

export function makeTestPki(dir: string): TestPki {
  const ca = makeCa(dir, "ca", "FishChat test CA");
  const rogueCa = makeCa(dir, "rogue-ca", "Someone else's CA");
  return {
    dir,
    ca,
    server: makeLeaf(dir, ca, "server", "localhost", "extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost"),
    client: makeLeaf(dir, ca, "client", "router", "extendedKeyUsage=clientAuth"),
    rogueClient: makeLeaf(dir, rogueCa, "rogue-client", "router", "extendedKeyUsage=clientAuth"),
  };
}

/** makeTestPki in a temporary directory that is removed when the test ends. */
export function testPki(t: TestContext): TestPki {
  const dir = mkdtempSync(join(tmpdir(), "fc-pki-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return makeTestPki(dir);
}
