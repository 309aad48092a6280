import { connect, createServer, type Socket } from "node:net";

/**
 * Runs inside a network namespace (started by netns.ts through `ip netns exec`) and lets the test
 * process, which stays in the root namespace, open TCP connections from there: it listens on a
 * Unix socket (Unix socket paths are not namespaced, so the root namespace can reach it) and
 * each connection starts with one line "<host> <port>\n" naming the target; the rest is piped.
 *
 * Usage: node ns-forward.js <socket-path>. It exits when its stdin closes (its parent is gone).
 */

const MAX_HEADER_BYTES = 256;
const path = process.argv[2];
if (!path) throw new Error("usage: ns-forward.js <socket-path>");

function relay(inbound: Socket): void {
  let head = Buffer.alloc(0);
  const onData = (chunk: Buffer) => {
    head = Buffer.concat([head, chunk]);
    const nl = head.indexOf(10);
    if (nl < 0) {
      if (head.length > MAX_HEADER_BYTES) inbound.destroy();
      return;
    }
    inbound.off("data", onData);
    inbound.pause();
    const [host, port] = head.subarray(0, nl).toString("utf8").trim().split(" ");
    const rest = head.subarray(nl + 1);
    const outbound = connect({ host: host ?? "", port: Number(port) });
    outbound.setNoDelay(true);
    const fail = () => {
      inbound.destroy();
      outbound.destroy();
    };
    outbound.once("error", fail);
    inbound.once("error", fail);
    outbound.once("connect", () => {
      if (rest.length > 0) outbound.write(rest);
      inbound.pipe(outbound);
      outbound.pipe(inbound);
      inbound.resume();
    });
    inbound.once("close", () => outbound.destroy());
    outbound.once("close", () => inbound.destroy());
  };
  inbound.on("data", onData);
  inbound.once("error", () => inbound.destroy());
}

const server = createServer(relay);
server.listen(path, () => process.stdout.write("ready\n"));
process.stdin.resume();
process.stdin.once("end", () => process.exit(0));
process.stdin.once("error", () => process.exit(0));
