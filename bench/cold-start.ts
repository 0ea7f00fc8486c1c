/**
 * `npm run bench:cold`: what a local cold container pays to load its function, by how the code is loaded:
 * a fresh worker thread importing the handler's TypeScript sources (the runtime before bundling), its
 * esbuild bundle (`local/bundle.ts`), and the bundle with V8's code cache warm (what a container of the
 * runtime does from its second start of a build on); a worker importing nothing is the floor. Each is the
 * time from `new Worker` to the import having finished, `--repeat` times (min and median of the wall
 * clock), and the CPU the worker thread used for it (median; `process.threadCpuUsage`, which a busy
 * machine inflates far less than the wall clock: compare CPU across runs taken at different loads).
 *
 * Usage: npm run bench:cold [-- --functions predict,train|all --repeat 7 --bundles-only]
 * (`--bundles-only` skips the TypeScript sources column, the slow one).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { bundleFunctions } from '../local/bundle.ts';
import { loadStack, readLocalStack, repoRoot } from '../local/template.ts';

const option = (name: string, fallback: string) => {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? process.argv[at + 1] : fallback;
};
const repeat = Number(option('repeat', '7'));
const bundlesOnly = process.argv.includes('--bundles-only');

const scratch = mkdtempSync(join(tmpdir(), 'driftline-bench-cold-'));
const stack = readLocalStack(await loadStack({ outdir: join(scratch, 'cdk.out') }), {
  region: 'us-east-1',
  apiUrl: 'http://127.0.0.1:1/',
});
const { functions } = await bundleFunctions(stack.functions, {
  cacheDir: join(repoRoot, 'node_modules/.cache/driftline/bundles'),
  root: repoRoot,
});
const picked = option('functions', 'predict,train,featurize');
const names = picked === 'all' ? functions.map((fn) => fn.shortName) : picked.split(',');

/**
 * ms from `new Worker` to the module imported, in a thread with the function's environment, and the ms of
 * CPU the thread used up to then (its start included).
 */
async function coldLoad(
  module: string | undefined,
  env: Record<string, string>,
  cache?: string,
): Promise<{ wall: number; cpu: number }> {
  const source = `import { parentPort } from 'node:worker_threads';
import { enableCompileCache, flushCompileCache } from 'node:module';
${cache ? `enableCompileCache(${JSON.stringify(cache)});` : ''}
${module ? `await import(${JSON.stringify(pathToFileURL(module).href)});` : ''}
${cache ? 'flushCompileCache();' : ''}
const cpu = process.threadCpuUsage();
parentPort.postMessage((cpu.user + cpu.system) / 1000);`;
  const started = performance.now();
  const worker = new Worker(new URL(`data:text/javascript,${encodeURIComponent(source)}`), {
    env: { ...process.env, AWS_REGION: 'us-east-1', ...env },
  });
  const cpu = await new Promise<number>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  const wall = performance.now() - started;
  await worker.terminate();
  return { wall, cpu };
}

/** `wall min / median (CPU median)` over `--repeat` loads. */
async function series(load: () => Promise<{ wall: number; cpu: number }>) {
  const loads: { wall: number; cpu: number }[] = [];
  for (let i = 0; i < repeat; i++) loads.push(await load());
  const walls = loads.map((l) => l.wall).sort((a, b) => a - b);
  const cpus = loads.map((l) => l.cpu).sort((a, b) => a - b);
  const middle = Math.floor(repeat / 2);
  return `${walls[0].toFixed(0)} / ${walls[middle].toFixed(0)} (${cpus[middle].toFixed(0)})`;
}

console.log(
  `bench:cold, load average ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}, ${repeat} loads each`,
);
console.log('| function | sources ms, wall min / median (CPU median) | bundle | bundle, code cache warm |');
console.log('| --- | --- | --- | --- |');
console.log(`| (empty worker) | ${await series(() => coldLoad(undefined, {}))} | | |`);
const v8 = join(scratch, 'v8');
for (const name of names) {
  const fn = functions.find((f) => f.shortName === name);
  if (!fn?.code) throw new Error(`no function ${name}`);
  const code = fn.code;
  const sources = bundlesOnly ? '' : await series(() => coldLoad(fn.entry, fn.environment));
  const bundle = await series(() => coldLoad(code, fn.environment));
  await coldLoad(code, fn.environment, v8);
  const cached = await series(() => coldLoad(code, fn.environment, v8));
  console.log(`| ${name} | ${sources} | ${bundle} | ${cached} |`);
}
rmSync(scratch, { recursive: true, force: true });
