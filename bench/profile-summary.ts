/**
 * Groups the CPU profiles `node --cpu-prof` wrote for a `bench/serve.ts` run (the main thread and every
 * container thread) by what the time went to, within the load window, and prints ms per request.
 *
 * Usage: node bench/profile-summary.ts <profile-dir> <window-start-µs> <window-end-µs> <requests>
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

const [dir, from, to, requests] = process.argv.slice(2);
const start = Number(from);
const end = Number(to);

/** The part of the serving path a frame belongs to, by its file (first match wins, leaf frame first). */
const PARTS: [string, RegExp][] = [
  ['forest (lambdas/core/forest)', /lambdas\/core\/forest\//],
  [
    'dynalite / LevelDB (main thread)',
    /node_modules\/(dynalite|levelup|leveldown|memdown|classic-level|abstract-level|level|lazy|once|big\.js|async)/,
  ],
  ['alarm evaluation (local/alarms, metrics)', /local\/(alarms|metrics)\.ts/],
  ['API front door (local/http, jsonschema)', /local\/(http|jsonschema)\.ts/],
  ['worker hop (local/functions, worker, log)', /local\/(functions|worker|log)\.ts/],
  ['AWS SDK (DynamoDB, S3 clients)', /node_modules\/@(aws-sdk|smithy|aws-crypto)\//],
  ['middy, Powertools', /node_modules\/@(middy|aws-lambda-powertools)\//],
  ['zod', /node_modules\/zod\//],
  ['predict handler, registry, log code', /lambdas\//],
  ['s3rver', /node_modules\/(s3rver|koa|@koa)/],
];

function partOf(stack: ProfileNode[]): string {
  const top = stack[stack.length - 1].callFrame;
  if (top.functionName === '(garbage collector)') return 'garbage collection';
  if (top.functionName === '(idle)') return 'idle';
  if (top.functionName === '(program)') return 'V8 / native (program)';
  if (stack.some((node) => /^node:internal\/modules\//.test(node.callFrame.url)))
    return 'module loading (container cold starts)';
  // Node's own frames are charged to the nearest caller that is ours or a library's.
  for (let i = stack.length - 1; i >= 0; i--) {
    const { url } = stack[i].callFrame;
    for (const [name, pattern] of PARTS) if (pattern.test(url)) return name;
  }
  return stack.some((node) => node.callFrame.url.startsWith('node:'))
    ? 'node internals (http, streams, workers)'
    : 'other';
}

const totals = new Map<string, number>();
for (const file of readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))) {
  const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const parts = new Map<number, string>();
  const part = (id: number): string => {
    let known = parts.get(id);
    if (known === undefined) {
      const stack: ProfileNode[] = [];
      for (let at: number | undefined = id; at !== undefined; at = parent.get(at))
        stack.unshift(byId.get(at)!);
      known = partOf(stack);
      parts.set(id, known);
    }
    return known;
  };
  let time = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    time += profile.timeDeltas[i];
    const delta = profile.timeDeltas[i + 1] ?? 0;
    if (time < start || time > end) continue;
    const name = part(profile.samples[i]);
    totals.set(name, (totals.get(name) ?? 0) + delta);
  }
}
totals.delete('idle');
const busy = [...totals.values()].reduce((a, b) => a + b, 0);
console.log(`| part of the path | CPU ms/request | share |`);
console.log('| --- | --- | --- |');
for (const [name, us] of [...totals].sort((a, b) => b[1] - a[1])) {
  console.log(
    `| ${name} | ${(us / 1000 / Number(requests)).toFixed(2)} | ${((100 * us) / busy).toFixed(0)}% |`,
  );
}
console.log(`| **all threads** | **${(busy / 1000 / Number(requests)).toFixed(2)}** | 100% |`);
