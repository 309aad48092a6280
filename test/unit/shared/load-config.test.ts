import test from "node:test";
import assert from "node:assert/strict";
import { z } from "zod";
import { logLevelOf } from "../../../shared/cli.js";
import { commonKeys } from "../../../shared/config/common.js";
import { parseConfig } from "../../../shared/config/load-config.js";
import { gatewaySchema } from "../../../services/gateway/config.js";
import { msgServerSchema } from "../../../services/msg_server/config.js";
import { clientSchema } from "../../../services/client_common/config.js";

function problems(schema: z.ZodType, raw: unknown): string[] {
  try {
    parseConfig("f.json", raw, schema);
  } catch (err) {
    assert.equal((err as { code?: string }).code, "IM_ERR_CONFIG");
    return (err as Error).message.split("\n");
  }
  assert.fail("expected a ConfigError");
}

test("every problem of a config file is reported, one per line, unknown keys first", () => {
  const lines = problems(msgServerSchema, { heartbeatMs: -1, bogus: 1, redis: { port: "6379", Addr: "x" }, other: 2 });
  assert.equal(lines.length, 7, lines.join("\n"));
  assert.ok(lines.slice(0, 3).every((l) => l.includes("unknown key")), lines.join("\n"));
  for (const want of ['unknown key "bogus"', 'unknown key "other"', 'unknown key "redis.Addr"', 'key "redis.port"', 'key "clusterSecret": missing (required', 'key "heartbeatMs"', 'key "clientAuth": missing (required']) {
    assert.ok(lines.some((l) => l.includes(want)), `${want} in:\n${lines.join("\n")}`);
  }
});

test("v1 key hints name a key only when the schema being loaded has it", () => {
  const v1 = { LocalIP: "127.0.0.1:19000", MsgServerList: [], TransportProtocols: "tcp", clusterSecret: "0123456789" };
  const ms = problems(msgServerSchema, v1);
  assert.ok(ms.includes('f.json: unknown key "LocalIP" (FishChatServer v1 key; use advertiseAddr ("host:port" clients can reach))'), ms.join("\n"));
  assert.ok(ms.includes('f.json: unknown key "MsgServerList" (FishChatServer v1 key; this file has no such setting: remove it)'), ms.join("\n"));
  const gw = problems(gatewaySchema, v1);
  assert.ok(gw.includes('f.json: unknown key "LocalIP" (FishChatServer v1 key; this file has no such setting: remove it)'), gw.join("\n"));
  assert.ok(gw.includes('f.json: unknown key "MsgServerList" (FishChatServer v1 key; use msgServerList)'), gw.join("\n"));
  assert.ok(gw.includes('f.json: unknown key "TransportProtocols" (FishChatServer v1 key; use nothing (TCP is implied))'), gw.join("\n"));
  // Each hinted key, followed, is accepted by the schema the hint was given for.
  assert.doesNotThrow(() => parseConfig("f.json", { advertiseAddr: "127.0.0.1:19000", clusterSecret: "0123456789", clientAuth: { mode: "none" } }, msgServerSchema));
  assert.doesNotThrow(() => parseConfig("f.json", { msgServerList: [], clusterSecret: "0123456789" }, gatewaySchema));
  const client = problems(clientSchema, { GatewayServer: "127.0.0.1:17000", Redis: {} });
  assert.ok(client.includes('f.json: unknown key "GatewayServer" (FishChatServer v1 key; use gatewayServer)'), client.join("\n"));
  assert.ok(client.includes('f.json: unknown key "Redis" (FishChatServer v1 key; this file has no such setting: remove it)'), client.join("\n"));
});

test("FISHCHAT_LOG_LEVEL overrides the conf file's logLevel; a bad value is a config error", () => {
  assert.equal(logLevelOf("warn", {}), "warn");
  assert.equal(logLevelOf(undefined, {}), "info");
  assert.equal(logLevelOf("warn", { FISHCHAT_LOG_LEVEL: "debug" }), "debug");
  assert.equal(logLevelOf("info", { FISHCHAT_LOG_LEVEL: "" }), "info");
  // The schema default ("info") is what a file without logLevel parses to: the env var still wins.
  const cfg = parseConfig("f.json", { clusterSecret: "0123456789" }, z.strictObject({ logLevel: commonKeys.logLevel, clusterSecret: z.string() }));
  assert.equal(logLevelOf(cfg.logLevel, { FISHCHAT_LOG_LEVEL: "trace" }), "trace");
  assert.throws(() => logLevelOf("info", { FISHCHAT_LOG_LEVEL: "verbose" }), (e: Error & { code?: string }) => e.code === "IM_ERR_CONFIG" && /FISHCHAT_LOG_LEVEL: "verbose" is not a log level \(fatal, error, warn, info, debug, trace, silent\)/.test(e.message));
});
