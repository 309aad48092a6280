#!/usr/bin/env node
// Builds the monitor dashboard: type-checks monitor-ui/ (its own tsconfig, DOM lib), bundles
// monitor-ui/src/main.ts with esbuild, and copies the page, its CSS, uPlot's CSS and the icon into
// monitor-ui/dist/, which the monitor serves. Everything is local: the page works offline.
// Usage: node scripts/build-ui.mjs [--no-check] [--watch]
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const ui = join(root, "monitor-ui");
const out = join(ui, "dist");
const args = new Set(process.argv.slice(2));
const require = createRequire(import.meta.url);

if (!args.has("--no-check")) {
  const tsc = join(root, "node_modules", ".bin", "tsc");
  const r = spawnSync(tsc, ["-p", join(ui, "tsconfig.json")], { stdio: "inherit" });
  if (r.status !== 0) {
    console.error("build-ui: type errors in monitor-ui (run with --no-check to bundle anyway)");
    process.exit(r.status ?? 1);
  }
}

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const copies = [
  [join(ui, "index.html"), "index.html"],
  [join(ui, "styles.css"), "styles.css"],
  [join(ui, "favicon.svg"), "favicon.svg"],
  [require.resolve("uplot/dist/uPlot.min.css"), "uplot.css"],
];
for (const [from, to] of copies) copyFileSync(from, join(out, to));

/** @type {import("esbuild").BuildOptions} */
const options = {
  entryPoints: [join(ui, "src", "main.ts")],
  outfile: join(out, "app.js"),
  bundle: true,
  format: "esm",
  platform: "browser",
  target: ["chrome110", "firefox115", "safari16"],
  minify: true,
  sourcemap: true,
  legalComments: "linked",
  logLevel: "warning",
};
if (args.has("--watch")) {
  const ctx = await esbuild.context(options);
  await ctx.watch();
  console.log(`build-ui: watching monitor-ui/src -> ${out}`);
} else {
  await esbuild.build(options);
  console.log(`build-ui: monitor-ui/dist ready`);
}
