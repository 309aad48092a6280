/** The wire protocol: command names, line and packet codecs, per-connection codec selection. */
export * from "./commands.js";
export * from "./line-codec.js";
export * from "./line-framer.js";
export * from "./packet-codec.js";
export * from "./codec.js";
