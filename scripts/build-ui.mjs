#!/usr/bin/env node
// Builds the browser pages: the monitor dashboard (monitor-ui/ -> monitor-ui/dist/, served by the
// monitor) and the chat page (services/chat-ui/ -> services/chat-ui/dist/, served by the gateway's
// HTTP listener). For each: type-checks the folder (its own tsconfig, DOM lib), bundles
// src/main.ts with esbuild, and copies the page, its CSS and the icon. Everything is local: the
// pages load nothing from elsewhere at run time.
// Usage: node scripts/build-ui.mjs [--no-check] [--watch]
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const args = new Set(process.argv.slice(2));
const require = createRequire(import.meta.url);

const pages = [
  {
    name: "monitor-ui",
    dir: join(root, "monitor-ui"),
    copies: [["index.html"], ["styles.css"], ["favicon.svg"], [require.resolve("uplot/dist/uPlot.min.css"), "uplot.css"]],
  },
  {
    name: "services/chat-ui",
    dir: join(root, "services", "chat-ui"),
    copies: [["index.html"], ["styles.css"], ["favicon.svg"]],
  },
];

if (!args.has("--no-check")) {
  const tsc = join(root, "node_modules", ".bin", "tsc");
  for (const page of pages) {
    const r = spawnSync(tsc, ["-p", join(page.dir, "tsconfig.json")], { stdio: "inherit" });
    if (r.status !== 0) {
      console.error(`build-ui: type errors in ${page.name} (run with --no-check to bundle anyway)`);
      process.exit(r.status ?? 1);
    }
  }
}

for (const page of pages) {
  const out = join(page.dir, "dist");
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  for (const [from, to] of page.copies) copyFileSync(from.startsWith("/") ? from : join(page.dir, from), join(out, to ?? from));

  /** @type {import("esbuild").BuildOptions} */
  const options = {
    entryPoints: [join(page.dir, "src", "main.ts")],
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
    console.log(`build-ui: watching ${page.name}/src -> ${out}`);
  } else {
    await esbuild.build(options);
    console.log(`build-ui: ${page.name}/dist ready`);
  }
}
