import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { checkServerIdentity, type ConnectionOptions, createSecureContext, type TLSSocket, type TlsOptions } from "node:tls";
import { z } from "zod";
import { ConfigError } from "../errors.js";

/**
 * TLS for listeners and links, from PEM files named in the config. Builders read the files and
 * try them in a secure context at start, so a missing file or a key that does not match its
 * certificate fails at boot with a ConfigError naming the key, not at the first handshake.
 */

const file = z.string().min(1);
const tlsVersion = z.enum(["TLSv1.2", "TLSv1.3"]);

export const ClientCert = {
  /** Clients are not asked for a certificate. */
  none: "none",
  /** Asked; a connection without a valid one is accepted but not `authorized` (see isAuthorizedPeer). */
  optional: "optional",
  /** Mutual TLS: the handshake fails without a certificate signed by caFile. */
  required: "required",
} as const;
export type ClientCert = (typeof ClientCert)[keyof typeof ClientCert];

/** A listener's TLS: `"tls": { "certFile": ..., "keyFile": ..., "caFile": ..., "clientCert": "required" }`. */
export const tlsServerSchema = z
  .strictObject({
    /** PEM certificate chain this process presents (leaf first). Also its client certificate when it dials a peer that asks. */
    certFile: file,
    /** PEM private key of certFile. */
    keyFile: file,
    /** PEM CA certificates that client certificates (and, when dialing, peer servers) must chain to. */
    caFile: file.optional(),
    /** Whether clients must present a certificate signed by caFile. @default "none" */
    clientCert: z.enum([ClientCert.none, ClientCert.optional, ClientCert.required]).default(ClientCert.none),
    /** @default "TLSv1.2" */
    minVersion: tlsVersion.default("TLSv1.2"),
    /** A connection must finish its handshake within this time (Node's default, 120 s, lets idle sockets pile up). @default 10000 */
    handshakeTimeoutMs: z.number().int().positive().default(10_000),
  })
  .refine((c) => c.clientCert === ClientCert.none || c.caFile !== undefined, "clientCert other than \"none\" needs caFile");
export type TlsServerConfig = z.output<typeof tlsServerSchema>;

/** A dialer's TLS (client libraries, links to peers): `{ "caFile": ... }`, plus certFile/keyFile for mutual TLS. */
export const tlsClientSchema = z
  .strictObject({
    /** PEM CA certificates the server must chain to; without it the system's CAs are used. */
    caFile: file.optional(),
    /** PEM certificate presented when the server asks (mutual TLS). */
    certFile: file.optional(),
    keyFile: file.optional(),
    /** Name the server certificate must carry; by default the host dialed (an IP is checked against IP SANs). */
    serverName: z.string().min(1).optional(),
    /** @default "TLSv1.2" */
    minVersion: tlsVersion.default("TLSv1.2"),
  })
  .refine((c) => (c.certFile === undefined) === (c.keyFile === undefined), "certFile and keyFile must be set together");
export type TlsClientConfig = z.output<typeof tlsClientSchema>;

/** What dialing needs; a listener's TlsServerConfig fits too (its cert becomes the client certificate). */
export interface TlsDialConfig {
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  serverName?: string;
  minVersion: "TLSv1.2" | "TLSv1.3";
}

function read(path: string, what: string, label: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new ConfigError(`${label}.${what} "${path}": cannot read (${code})`, { cause: err });
  }
}

/** Builds a secure context once, so bad PEM or a mismatched key fails here with a clear message. */
function tryContext(opts: Pick<TlsOptions, "ca" | "cert" | "key" | "minVersion">, label: string): void {
  try {
    createSecureContext({ ca: opts.ca, cert: opts.cert, key: opts.key, minVersion: opts.minVersion });
  } catch (err) {
    const e = err as Error & { code?: string };
    const hint = /KEY_VALUES_MISMATCH|key values mismatch/i.test(`${e.code} ${e.message}`) ? "keyFile does not belong to certFile" : e.message;
    throw new ConfigError(`${label}: unusable certificate or key: ${hint}`, { cause: err });
  }
}

/** Options for tls.createServer (the listener's own; add ALPN and the like after). */
export function tlsServerOptions(cfg: TlsServerConfig, label = "tls"): TlsOptions {
  const opts: TlsOptions = {
    cert: read(cfg.certFile, "certFile", label),
    key: read(cfg.keyFile, "keyFile", label),
    minVersion: cfg.minVersion,
    handshakeTimeout: cfg.handshakeTimeoutMs,
    requestCert: cfg.clientCert !== ClientCert.none,
    rejectUnauthorized: cfg.clientCert === ClientCert.required,
  };
  if (cfg.caFile !== undefined) opts.ca = read(cfg.caFile, "caFile", label);
  tryContext(opts, label);
  return opts;
}

/** Options for tls.connect to `host` (port and socket are the caller's). Server certificates are always verified. */
export function tlsClientOptions(cfg: TlsDialConfig, host: string, label = "tls"): ConnectionOptions {
  const opts: ConnectionOptions = { host, minVersion: cfg.minVersion, rejectUnauthorized: true };
  if (cfg.caFile !== undefined) opts.ca = read(cfg.caFile, "caFile", label);
  if (cfg.certFile !== undefined && cfg.keyFile !== undefined) {
    opts.cert = read(cfg.certFile, "certFile", label);
    opts.key = read(cfg.keyFile, "keyFile", label);
  }
  // SNI must not carry an IP (RFC 6066 3); without servername Node checks the host, IP SANs included.
  const name = cfg.serverName ?? host;
  if (isIP(name) === 0) opts.servername = name;
  else if (name !== host) opts.checkServerIdentity = (_host, cert) => checkServerIdentity(name, cert);
  tryContext(opts, label);
  return opts;
}

/** A TLS peer whose certificate chains to our caFile (mutual TLS), with its subject CN for logs. */
export function isAuthorizedPeer(socket: TLSSocket): { authorized: boolean; subject?: string; error?: string } {
  if (!socket.authorized) return { authorized: false, error: socket.authorizationError ? String(socket.authorizationError) : "no client certificate" };
  const cn = socket.getPeerCertificate()?.subject?.CN;
  return { authorized: true, subject: Array.isArray(cn) ? cn.join(",") : cn };
}
