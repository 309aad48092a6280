import { BlockList, isIP } from "node:net";
import { splitHostPort } from "./common.js";
import { ConfigError } from "../errors.js";

/**
 * Start-up refusal of unsafe exposure: a process bound beyond loopback must not run with the
 * secret everybody can read in this repository, nor with an open monitor API. Pure: main.ts
 * passes what it is about to listen on and prints the reasons (exit 2) or logs the warnings.
 */

/** The cluster secret of the shipped conf/*.json: public, so fit for loopback development only. */
export const DEV_CLUSTER_SECRET = "fishchat-dev-secret-change-me";

/** Shortest cluster secret accepted on a non-loopback listener (256 bits, as from `openssl rand -base64 32`). */
export const MIN_CLUSTER_SECRET_BYTES = 32;

export const ExposureCode = {
  dev_cluster_secret: "dev_cluster_secret",
  short_cluster_secret: "short_cluster_secret",
  monitor_without_credentials: "monitor_without_credentials",
  client_auth_none: "client_auth_none",
  plaintext_listener: "plaintext_listener",
  dev_login_exposed: "dev_login_exposed",
} as const;
export type ExposureCode = (typeof ExposureCode)[keyof typeof ExposureCode];

export interface Finding {
  code: ExposureCode;
  message: string;
}

export interface ExposureListener {
  /** For messages: "listen", "http", ... */
  name: string;
  /** "host:port" as in the conf. */
  addr: string;
  /** Whether the listener speaks TLS; false warns when it is exposed, undefined says nothing. */
  tls?: boolean;
  /** Client-facing listeners carry client logins, so clientAuth applies to them. */
  clientFacing?: boolean;
}

export interface ExposureInput {
  /** The process's TCP listeners (client and internal ports); the monitor's HTTP listener goes in monitorHttp. */
  listeners: readonly ExposureListener[];
  clusterSecret: string;
  /** The monitor's dashboard and API: credentials are a token or a username and password. */
  monitorHttp?: { addr: string; token: string; username: string; password: string };
  /** msg_server's clientAuth.mode. */
  clientAuthMode?: "token" | "none";
  /** The gateway's development login (http.devLogin): the HTTP listener it is on. */
  devLogin?: { addr: string };
}

export interface ExposureReport {
  /** Any of these: print them and exit 2. */
  refuse: Finding[];
  /** Log at warn level and go on. */
  warn: Finding[];
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet("127.0.0.0", 8, "ipv4");
LOOPBACK.addAddress("::1", "ipv6");

/** 127.0.0.0/8, ::1 (also as [::1] or IPv4-mapped) and "localhost". 0.0.0.0, ::, names and LAN addresses are not. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  if (h === "localhost") return true;
  const family = isIP(h);
  return family !== 0 && LOOPBACK.check(h, family === 4 ? "ipv4" : "ipv6");
}

function exposed(addr: string): boolean {
  return !isLoopbackHost(splitHostPort(addr).host);
}

export function checkExposure(input: ExposureInput): ExposureReport {
  const report: ExposureReport = { refuse: [], warn: [] };
  const open = input.listeners.filter((l) => exposed(l.addr));
  const where = open.map((l) => `${l.name} ${l.addr}`).join(", ");
  if (open.length > 0) {
    if (input.clusterSecret === DEV_CLUSTER_SECRET) {
      report.refuse.push({
        code: ExposureCode.dev_cluster_secret,
        message: `${where} is reachable beyond this machine, but clusterSecret is the development value published in the repository; set a random one (openssl rand -base64 32) in every conf file`,
      });
    } else if (Buffer.byteLength(input.clusterSecret) < MIN_CLUSTER_SECRET_BYTES) {
      report.refuse.push({
        code: ExposureCode.short_cluster_secret,
        message: `${where} is reachable beyond this machine, but clusterSecret has ${Buffer.byteLength(input.clusterSecret)} bytes; use at least ${MIN_CLUSTER_SECRET_BYTES} (openssl rand -base64 32)`,
      });
    }
    for (const l of open) {
      if (l.tls === false) {
        report.warn.push({ code: ExposureCode.plaintext_listener, message: `${l.name} ${l.addr} is reachable beyond this machine without TLS: traffic, tokens and AUTH travel in clear` });
      }
    }
  }
  const http = input.monitorHttp;
  if (http && exposed(http.addr)) {
    const credentials = http.token !== "" || (http.username !== "" && http.password !== "");
    if (!credentials) {
      report.refuse.push({
        code: ExposureCode.monitor_without_credentials,
        message: `monitor http ${http.addr} is reachable beyond this machine without credentials; set http.token or http.username and http.password, or bind http.host to 127.0.0.1`,
      });
    }
  }
  // Whoever reaches it signs in as anyone: never beyond this machine, whatever the secret.
  if (input.devLogin && exposed(input.devLogin.addr)) {
    report.refuse.push({
      code: ExposureCode.dev_login_exposed,
      message: `http.devLogin mints a token for any client id and http.listen ${input.devLogin.addr} is reachable beyond this machine; remove http.devLogin (production pages get tokens from your app, docs/CLIENTS.md) or bind http.listen to 127.0.0.1`,
    });
  }
  if (input.clientAuthMode === "none") {
    const clientOpen = open.filter((l) => l.clientFacing !== false);
    report.warn.push({
      code: ExposureCode.client_auth_none,
      message:
        clientOpen.length > 0
          ? `clientAuth.mode is "none" on ${clientOpen.map((l) => l.addr).join(", ")}, reachable beyond this machine: anyone can log in as any client id`
          : 'clientAuth.mode is "none": clients log in without a token (FishChatServer v1 compatibility)',
    });
  }
  return report;
}

/** The refusal as main.ts prints it on stderr before exit 2. */
export function formatRefusal(service: string, report: ExposureReport): string {
  return report.refuse.map((f) => `${service}: refusing to start: ${f.message}\n`).join("");
}

/**
 * What every service's start() calls before listening: throws ConfigError (the process exits 2,
 * one line per reason) when it must refuse, and logs each warning.
 */
export function enforceExposure(input: ExposureInput, log: { warn(obj: object, msg: string): void }): void {
  const report = checkExposure(input);
  for (const w of report.warn) log.warn({ code: w.code }, w.message);
  if (report.refuse.length > 0) throw new ConfigError(report.refuse.map((f) => `refusing to start: ${f.message}`).join("\n"));
}
