#!/usr/bin/env node
/**
 * The storm tool's probes, in a process of their own (probes.ts): `probe-main.js <gateway>
 * <msgServer>` logs two probe clients in on the msg_server, sends p2p from one to the other every
 * 50 ms and asks the gateway every 100 ms, prints "probes running", and on SIGTERM prints every
 * sample as one JSON line and exits.
 */
import { FishChatClient } from "../../shared/client/client.js";
import { testToken } from "../../test/support/cluster.js";
import { gatewayProbe, p2pProbe, type ProbeReport } from "./probes.js";

const P2P_EVERY_MS = 50;
const GATEWAY_EVERY_MS = 100;

async function main(): Promise<void> {
  const [gateway, msgServer] = process.argv.slice(2);
  if (!gateway || !msgServer) throw new Error("usage: probe-main.js <gateway> <msgServer>");
  const login = async (id: string) => {
    const c = new FishChatClient({ heartbeatMs: 5000 });
    await c.connect(msgServer);
    await c.login(id, await testToken(id));
    return c;
  };
  const rx = await login("storm-probe-rx");
  const tx = await login("storm-probe-tx");
  const p2p = p2pProbe(tx, "storm-probe-rx", P2P_EVERY_MS);
  const gw = gatewayProbe(gateway, GATEWAY_EVERY_MS);
  process.once("SIGTERM", () => {
    void (async () => {
      await Promise.all([p2p.stop(), gw.stop()]);
      const report: ProbeReport = { p2p: p2p.samples, gateway: gw.samples };
      process.stdout.write(`${JSON.stringify(report)}\n`, () => {
        rx.close();
        tx.close();
        process.exit(0);
      });
    })();
  });
  process.stdout.write("probes running\n");
}

main().catch((err: unknown) => {
  process.stderr.write(`probe: ${String(err)}\n`);
  process.exit(2);
});
