/**
 * The load generator of `bench/serve.ts`, in its own process so it does not share the runtime's CPU
 * profile: `connections` keep-alive loops POST the same predict request for `seconds`, then one JSON line
 * with the count, requests/s, p50 and p99 (ms) and the status codes goes to stdout.
 *
 * Usage: node bench/load.ts <url> <body-json> <connections> <seconds>
 */
const [url, body, connections, seconds] = process.argv.slice(2);
const latencies: number[] = [];
const statuses: Record<number, number> = {};
const until = performance.now() + Number(seconds) * 1000;

async function loop(): Promise<void> {
  while (performance.now() < until) {
    const started = performance.now();
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    await response.arrayBuffer();
    latencies.push(performance.now() - started);
    statuses[response.status] = (statuses[response.status] ?? 0) + 1;
  }
}

const started = performance.now();
await Promise.all(Array.from({ length: Number(connections) }, loop));
const elapsed = (performance.now() - started) / 1000;
latencies.sort((a, b) => a - b);
const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
console.log(
  JSON.stringify({
    requests: latencies.length,
    perSecond: latencies.length / elapsed,
    p50: at(0.5),
    p99: at(0.99),
    statuses,
  }),
);
