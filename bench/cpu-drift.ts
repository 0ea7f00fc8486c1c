/**
 * How much this machine's CPU speed drifts on its own: for `--seconds` (60) one thread runs the same
 * fixed loop back to back and records the CPU time (not the wall time, so waiting for a core does not
 * count) of each run; printed are the mean per second and the spread (max ÷ min) of the 1-s and 6-s means.
 * On a machine whose speed holds both stay near 1. On this 2-core VM, idle, the 6-s means (about the
 * length of 5,000 soak requests) moved by 1.08-1.19× within a minute (bench/RESULTS.md). That is why
 * `bench:serve` judges decay by loading the soaked runtime and a fresh one in turn, not by the soak's
 * first 5,000 requests against its last 5,000, which run a minute or more apart.
 *
 * Usage: npx node bench/cpu-drift.ts [--seconds 60]
 */
const at = process.argv.indexOf('--seconds');
const seconds = at > 0 ? Number(process.argv[at + 1]) : 60;
const values = Float64Array.from({ length: 1 << 19 }, (_, i) => i);

/** A fixed amount of work: strided reads over a 4 MB array, four passes. */
function work(): number {
  let total = 0;
  for (let pass = 0; pass < 4; pass++)
    for (let i = 0; i < values.length; i++) total += values[(i * 7919) & (values.length - 1)];
  return total;
}

work();
work();
const start = performance.now();
/** CPU µs of the runs that ended in each wall-clock second, and how many. */
const spent = Array.from({ length: seconds }, () => ({ cpu: 0, runs: 0 }));
let sink = 0;
for (;;) {
  const second = Math.floor((performance.now() - start) / 1000);
  if (second >= seconds) break;
  const before = process.cpuUsage();
  sink += work();
  const used = process.cpuUsage(before);
  spent[second].cpu += used.user + used.system;
  spent[second].runs += 1;
}
const perSecond = spent.filter((s) => s.runs > 0).map((s) => s.cpu / s.runs / 1000);
const spread = (means: number[]) => Math.max(...means) / Math.min(...means);
const sixSecond: number[] = [];
for (let i = 0; i + 6 <= perSecond.length; i += 6)
  sixSecond.push(perSecond.slice(i, i + 6).reduce((a, b) => a + b, 0) / 6);
console.log(
  `CPU ms of one run of the fixed loop, mean per second: ${perSecond.map((ms) => ms.toFixed(2)).join(' ')}`,
);
console.log(
  `max ÷ min of the 1-s means ${spread(perSecond).toFixed(2)}, of the 6-s means ${spread(sixSecond).toFixed(2)} (checksum ${sink % 7})`,
);
