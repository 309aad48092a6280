/**
 * CPU profiles of the services under load: `bench ... --cpu-prof DIR` preloads this file into
 * every FishChat process it starts (NODE_OPTIONS=--import; Node refuses `--cpu-prof` itself in
 * NODE_OPTIONS, and the cluster launcher has no way to pass node flags).
 *
 * SIGUSR2 starts the profiler, the next SIGUSR2 stops it and writes `<service>-<pid>.cpuprofile`:
 * the tool signals at the start and end of its measurement window, so start-up (module loading)
 * and logins stay out of the profile. A profile still running at exit is written then (the
 * inspector answers synchronously inside the process, so an 'exit' handler can still write).
 * Open the files in Chrome DevTools or summarise them with profile-summary.js.
 */
import { Session } from "node:inspector";
import { mkdirSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";

/** Sampling period in microseconds (V8's default is 1000). */
const SAMPLE_US = 500;

const dir = process.env.FISHCHAT_CPU_PROF_DIR;
const main = process.argv[1] ?? "";
// Only the services (dist/services/<name>/main.js), never the bench tool or a test runner.
if (dir && basename(dirname(dirname(main))) === "services") {
  const service = basename(dirname(main));
  const session = new Session();
  session.connect();
  session.post("Profiler.enable");
  session.post("Profiler.setSamplingInterval", { interval: SAMPLE_US });
  let running = false;
  const stop = () => {
    if (!running) return;
    running = false;
    session.post("Profiler.stop", (err, res) => {
      if (err) return;
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, `${service}-${process.pid}.cpuprofile`), JSON.stringify(res.profile));
    });
  };
  process.on("SIGUSR2", () => {
    if (running) stop();
    else {
      running = true;
      session.post("Profiler.start");
    }
  });
  process.on("exit", stop);
}
