import test, { type TestContext } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { connect as netConnect, type AddressInfo } from "node:net";
import { connect as tlsConnect, type ConnectionOptions, createServer, type TLSSocket } from "node:tls";
import { ConfigError } from "../../../shared/errors.js";
import { isAuthorizedPeer, tlsClientOptions, tlsClientSchema, tlsServerOptions, tlsServerSchema } from "../../../shared/net/tls-config.js";
import { type TestPki, testPki } from "../../support/certs.js";

interface Server {
  port: number;
  /** Subjects of peers that completed the handshake ("-" when they had no authorized certificate). */
  peers: string[];
  handshakeErrors: Error[];
}

/** A real TLS listener on 127.0.0.1 that greets each peer with what it knows of it. */
async function serve(t: TestContext, raw: unknown): Promise<Server> {
  const s: Server = { port: 0, peers: [], handshakeErrors: [] };
  const server = createServer(tlsServerOptions(tlsServerSchema.parse(raw)), (sock: TLSSocket) => {
    const peer = isAuthorizedPeer(sock);
    s.peers.push(peer.subject ?? "-");
    sock.end(`hello ${peer.authorized ? peer.subject : "anonymous"}\n`);
  });
  server.on("tlsClientError", (err) => s.handshakeErrors.push(err));
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  s.port = (server.address() as AddressInfo).port;
  return s;
}

/** Dials and reads until the connection ends: the greeting, or the error that ended it. */
function dial(opts: ConnectionOptions, port: number): Promise<{ data: string; error?: Error }> {
  return new Promise((resolve) => {
    const sock = tlsConnect({ ...opts, port });
    let data = "";
    let error: Error | undefined;
    sock.setEncoding("utf8");
    sock.on("data", (d: string) => (data += d));
    sock.on("error", (e) => (error = e));
    sock.on("close", () => resolve({ data, error }));
  });
}

const serverCfg = (pki: TestPki, extra: Record<string, unknown> = {}) => ({ certFile: pki.server.cert, keyFile: pki.server.key, caFile: pki.ca.cert, ...extra });
const clientCfg = (raw: unknown) => tlsClientSchema.parse(raw);

test("a server and a client built from these options complete a handshake, by IP and by name", async (t) => {
  const pki = testPki(t);
  const s = await serve(t, serverCfg(pki));
  const byIp = await dial(tlsClientOptions(clientCfg({ caFile: pki.ca.cert }), "127.0.0.1"), s.port);
  assert.equal(byIp.error, undefined);
  assert.equal(byIp.data, "hello anonymous\n");
  const byName = await dial(tlsClientOptions(clientCfg({ caFile: pki.ca.cert, minVersion: "TLSv1.3" }), "localhost"), s.port);
  assert.equal(byName.data, "hello anonymous\n");
});

test("the client verifies the server: unknown CA and wrong name are refused", async (t) => {
  const pki = testPki(t);
  const s = await serve(t, serverCfg(pki));
  const noCa = await dial(tlsClientOptions(clientCfg({}), "127.0.0.1"), s.port);
  assert.equal(noCa.data, "");
  assert.match(String((noCa.error as { code?: string })?.code), /SELF_SIGNED|UNABLE_TO_GET_ISSUER|UNABLE_TO_VERIFY/);
  const wrongName = await dial(tlsClientOptions(clientCfg({ caFile: pki.ca.cert, serverName: "chat.example.com" }), "127.0.0.1"), s.port);
  assert.equal(wrongName.data, "");
  assert.equal((wrongName.error as { code?: string })?.code, "ERR_TLS_CERT_ALTNAME_INVALID");
});

test("mutual TLS: a client certificate from our CA gets in; none, or one from another CA, does not", async (t) => {
  const pki = testPki(t);
  const s = await serve(t, serverCfg(pki, { clientCert: "required" }));
  const withCert = await dial(tlsClientOptions(clientCfg({ caFile: pki.ca.cert, certFile: pki.client.cert, keyFile: pki.client.key }), "127.0.0.1"), s.port);
  assert.equal(withCert.data, "hello router\n");

  // A listener's own config works for dialing too: its certificate becomes the client certificate.
  const asListener = tlsServerSchema.parse({ certFile: pki.client.cert, keyFile: pki.client.key, caFile: pki.ca.cert });
  assert.equal((await dial(tlsClientOptions(asListener, "127.0.0.1"), s.port)).data, "hello router\n");

  const without = await dial(tlsClientOptions(clientCfg({ caFile: pki.ca.cert }), "127.0.0.1"), s.port);
  assert.equal(without.data, "");
  assert.ok(without.error, "the client sees the refusal");
  const rogue = await dial(tlsClientOptions(clientCfg({ caFile: pki.ca.cert, certFile: pki.rogueClient.cert, keyFile: pki.rogueClient.key }), "127.0.0.1"), s.port);
  assert.equal(rogue.data, "");
  assert.deepEqual(s.peers, ["router", "router"], "only the two good clients completed a handshake");
  assert.ok(s.handshakeErrors.length >= 2);
});

test("clientCert optional: anyone may connect, only CA-signed clients are authorized", async (t) => {
  const pki = testPki(t);
  const s = await serve(t, serverCfg(pki, { clientCert: "optional" }));
  assert.equal((await dial(tlsClientOptions(clientCfg({ caFile: pki.ca.cert }), "127.0.0.1"), s.port)).data, "hello anonymous\n");
  const rogue = await dial(tlsClientOptions(clientCfg({ caFile: pki.ca.cert, certFile: pki.rogueClient.cert, keyFile: pki.rogueClient.key }), "127.0.0.1"), s.port);
  assert.equal(rogue.data, "hello anonymous\n");
  const good = await dial(tlsClientOptions(clientCfg({ caFile: pki.ca.cert, certFile: pki.client.cert, keyFile: pki.client.key }), "127.0.0.1"), s.port);
  assert.equal(good.data, "hello router\n");
});

test("a plaintext client is refused: no greeting, the handshake fails on the server", async (t) => {
  const pki = testPki(t);
  const s = await serve(t, serverCfg(pki));
  const sock = netConnect({ host: "127.0.0.1", port: s.port });
  let received = "";
  sock.on("data", (d: Buffer) => (received += d.toString("latin1")));
  sock.on("error", () => {});
  await once(sock, "connect");
  sock.write("SEND_CLIENT_ID alice\n");
  await once(sock, "close");
  assert.doesNotMatch(received, /hello/);
  assert.deepEqual(s.peers, []);
  assert.equal(s.handshakeErrors.length, 1);
});

test("config errors: missing files, a key of another certificate, bad combinations", (t) => {
  const pki = testPki(t);
  const configError = (re: RegExp) => (e: unknown) => e instanceof ConfigError && re.test(e.message);
  assert.throws(() => tlsServerOptions(tlsServerSchema.parse({ certFile: join(pki.dir, "nope.crt"), keyFile: pki.server.key })), configError(/tls\.certFile ".*nope\.crt": cannot read \(ENOENT\)/));
  assert.throws(() => tlsServerOptions(tlsServerSchema.parse({ certFile: pki.server.cert, keyFile: pki.client.key }), "clientTls"), configError(/^clientTls: .*keyFile does not belong to certFile/));
  writeFileSync(join(pki.dir, "junk.pem"), "not a certificate");
  assert.throws(() => tlsServerOptions(tlsServerSchema.parse({ certFile: join(pki.dir, "junk.pem"), keyFile: pki.server.key })), configError(/unusable certificate or key/));
  assert.throws(() => tlsClientOptions(clientCfg({ caFile: join(pki.dir, "none.pem") }), "127.0.0.1"), configError(/tls\.caFile/));
  assert.equal(tlsServerSchema.safeParse({ certFile: "a", keyFile: "b", clientCert: "required" }).success, false, "mutual TLS needs a CA");
  assert.equal(tlsClientSchema.safeParse({ certFile: "a" }).success, false, "cert without key");
  assert.equal(tlsServerSchema.safeParse({ certFile: "a", keyFile: "b", minVersion: "TLSv1.0" }).success, false);
  const opts = tlsServerOptions(tlsServerSchema.parse(serverCfg(pki)));
  assert.equal(opts.handshakeTimeout, 10_000);
  assert.equal(opts.requestCert, false);
});
