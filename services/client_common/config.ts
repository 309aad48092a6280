import { existsSync } from "node:fs";
import { z } from "zod";
import { hostPort, positiveMs } from "../../shared/config/common.js";
import { loadConfig, parseConfig } from "../../shared/config/load-config.js";

/**
 * client.json, shared by client_p2p and client_topic (v1: `client/client_p2p/client.json`,
 * reference §2.5). v1's `GatewayServer` and `HeartBeatTime` (seconds) became `gatewayServer` and
 * `heartbeatMs`; `TransportProtocols` and `Expire` were unused and are gone. Unknown keys are errors.
 */
export const clientSchema = z.strictObject({
  /** Where to ask for a msg_server (REQ_MSG_SERVER). */
  gatewayServer: hostPort.default("127.0.0.1:17000"),
  /** SEND_PING interval (v1: HeartBeatTime 20 s). Must stay below the msg_server's idle timeout. */
  heartbeatMs: positiveMs.default(20_000),
  /** A command without a reply after this long fails with IM_ERR_TIMEOUT. */
  requestTimeoutMs: positiveMs.default(10_000),
  /** The first login gives up after this long (exit code 1); later re-logins retry forever. */
  connectTimeoutMs: positiveMs.default(15_000),
  /** Re-login backoff: exponential from min to max, with jitter. */
  reconnectMinMs: positiveMs.default(250),
  reconnectMaxMs: positiveMs.default(8_000),
  /** "line" (default) or "packet" (act as a FishChatServer v1 client). */
  codec: z.enum(["line", "packet"]).default("line"),
});
export type ClientConfig = z.output<typeof clientSchema>;

export const DEFAULT_CLIENT_CONF = "conf/client.json";

/**
 * Load client.json. A file named with -conf_file must exist; the default path may be missing, and
 * then the built-in defaults apply (so the installed binaries work from any directory).
 * Throws ConfigError (the caller exits with code 2).
 */
export function loadClientConfig(file: string, explicit: boolean): ClientConfig {
  if (!explicit && !existsSync(file)) return parseConfig("(built-in defaults)", {}, clientSchema);
  return loadConfig(file, clientSchema);
}
