/**
 * Function code as Lambda receives it: one ESM bundle per function (and per worker-thread script it
 * starts), built by the repository's esbuild the way CDK's `NodejsFunction` bundles at synth. A cold
 * container then loads one file instead of resolving and type-stripping hundreds of TypeScript sources,
 * which made every local cold start 3–4× slower than the same code bundled.
 *
 * Bundles are cached by content: a function's folder holds a manifest listing the files its last build
 * read, and the build is reused while every one of them hashes the same. Edit a handler and restart, and
 * only the functions that import it are rebuilt. The cache is shared by every `$DRIFTLINE_HOME` of one
 * checkout (it depends on the sources and `node_modules`, not on a runtime's state), so test runtimes in
 * fresh temp folders do not rebuild it.
 */
import { createHash, randomUUID } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { isBuiltin } from 'node:module';
import { basename, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BuildOptions, build, version as esbuildVersion, type Plugin } from 'esbuild';
import { ESM_REQUIRE_BANNER } from '../infra/esm-banner.ts';
import type { LocalFunction } from './template.ts';

/**
 * The deployed bundle's options (see `infra/driftline-function.ts`) minus minification: names and
 * source text stay readable in stack traces. `keepNames` keeps every class's `name`, which errors that
 * Step Functions matches by name may rely on.
 */
const BUILD_OPTIONS = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node22',
  mainFields: ['module', 'main'],
  keepNames: true,
  outExtension: { '.js': '.mjs' },
  banner: { js: ESM_REQUIRE_BANNER },
  logLevel: 'silent',
} as const satisfies BuildOptions;

/**
 * Node's builtins (`node:fs`, `node:crypto`, `node:zlib`, `node:http`, …) loaded with `require`, never
 * through an ESM import. esbuild hoists every builtin import of the bundle to the top of the ESM file, those
 * of modules it only evaluates when first used (the SDK's credential providers import `node:child_process`)
 * included, and Node's ESM facade of a builtin reads every one of its exports, lazy ones included: the HTTP
 * modules' lazy exports load Node's bundled undici (about 25 ms of CPU in every cold container; a worker
 * importing `node:http` used 62-72 ms against 38-46 ms requiring it), and the dozen builtins a function
 * bundle imports cost 16-18 ms of CPU through their facades against 8-12 ms required. `node:module` stays
 * an import: the banner's `createRequire` comes from it. On AWS, `NodejsFunction` runs esbuild without
 * plugins, so the deployed bundle (which carries the SDK too) still imports them: a cold start there pays
 * these ~30 ms of CPU that a local one does not.
 */
const REQUIRED_BUILTIN = 'driftline-required-builtin';
const REQUIRE_BUILTINS: Plugin = {
  name: 'driftline-require-builtins',
  setup(build) {
    const namespace = REQUIRED_BUILTIN;
    build.onResolve({ filter: /^(node:)?[a-z_/]+$/ }, (args) => {
      const name = args.path.replace(/^node:/, '');
      if (!isBuiltin(name) || name === 'module') return undefined;
      return args.namespace === namespace
        ? { path: args.path, external: true }
        : { path: `node:${name}`, namespace };
    });
    build.onLoad({ filter: /.*/, namespace }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(args.path)});`,
      loader: 'js',
    }));
  },
};

/** What identifies a build's options in the cache key (plugins by name: esbuild cannot print them). */
const BUILD_KEY = { ...BUILD_OPTIONS, plugins: [REQUIRE_BUILTINS.name] };

/** Builds of one function kept besides the newest, for runtimes of the same checkout still using them. */
const KEPT_BUILDS = 2;

/** Options of {@link bundleFunctions}. */
export interface BundleOptions {
  /** Folder the cache lives in. */
  readonly cacheDir: string;
  /** Folder the functions' sources are relative to (the build's working directory). */
  readonly root: string;
}

/** What the last build of one function read, and which build folder holds its output. */
interface Manifest {
  /** Input files, relative to the root, in esbuild's order. */
  inputs: string[];
  /** sha256 over the inputs' names and contents; also the build folder's name. */
  hash: string;
}

/** Hashes input files, each file read once per {@link bundleFunctions} call. */
class InputHasher {
  private readonly files = new Map<string, string | undefined>();
  private readonly root: string;

  constructor(root: string) {
    this.root = root;
  }

  /** The inputs' combined hash, or undefined when one of them no longer exists. */
  hash(inputs: readonly string[]): string | undefined {
    const combined = createHash('sha256');
    for (const input of inputs) {
      const digest = this.file(input);
      if (digest === undefined) return undefined;
      combined.update(input).update('\0').update(digest).update('\0');
    }
    return combined.digest('hex').slice(0, 16);
  }

  private file(input: string): string | undefined {
    if (!this.files.has(input)) {
      const path = join(this.root, input);
      this.files.set(
        input,
        existsSync(path) ? createHash('sha256').update(readFileSync(path)).digest('hex') : undefined,
      );
    }
    return this.files.get(input);
  }
}

function readManifest(path: string): Manifest | undefined {
  try {
    const manifest = JSON.parse(readFileSync(path, 'utf8')) as Manifest;
    return Array.isArray(manifest.inputs) && typeof manifest.hash === 'string' ? manifest : undefined;
  } catch {
    return undefined;
  }
}

/** Writes a file so a concurrent reader sees the old or the new content, never half of it. */
function writeAtomically(path: string, content: string): void {
  const temporary = `${path}.${randomUUID()}.tmp`;
  writeFileSync(temporary, content);
  renameSync(temporary, path);
}

/** Removes all but the newest {@link KEPT_BUILDS} builds besides `current`, and abandoned temp folders. */
function prune(folder: string, current: string): void {
  const builds = readdirSync(folder, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && entry.name !== current)
    .map((entry) => ({ name: entry.name, mtime: statSync(join(folder, entry.name)).mtimeMs }))
    .sort((a, b) => b.mtime - a.mtime);
  const hour = 60 * 60 * 1000;
  for (const [index, build] of builds.entries()) {
    // A temp folder this young may be another process's build in progress.
    const stale = build.name.startsWith('tmp-') ? Date.now() - build.mtime > hour : index >= KEPT_BUILDS;
    if (stale) rmSync(join(folder, build.name), { recursive: true, force: true });
  }
}

/** The entry points of one function: its handler as `index`, each worker script under its own name. */
function entryPoints(fn: LocalFunction): { out: string; in: string }[] {
  return [
    { out: 'index', in: fn.entry },
    ...Object.values(fn.scripts ?? {}).map((script) => ({
      out: basename(script).replace(/\.[cm]?[jt]s$/, ''),
      in: script,
    })),
  ];
}

/** The function with its code pointing into the build folder `dir`. */
function withCode(fn: LocalFunction, dir: string): LocalFunction {
  const environment = { ...fn.environment };
  for (const [envName, script] of Object.entries(fn.scripts ?? {})) {
    environment[envName] = join(dir, `${basename(script).replace(/\.[cm]?[jt]s$/, '')}.mjs`);
  }
  return { ...fn, code: join(dir, 'index.mjs'), environment };
}

/**
 * Builds `entries` into a folder of the cache named after `name` and the entries, unless a build of the
 * same inputs is there already.
 * @returns the build folder, and whether it was (re)built.
 */
async function buildCached(
  name: string,
  entries: { out: string; in: string }[],
  options: BundleOptions,
  hasher: InputHasher,
): Promise<{ dir: string; built: boolean }> {
  const key = createHash('sha256')
    .update(
      JSON.stringify({
        esbuildVersion,
        BUILD_OPTIONS: BUILD_KEY,
        entries: entries.map((entry) => ({ ...entry, in: relative(options.root, entry.in) })),
      }),
    )
    .digest('hex')
    .slice(0, 12);
  const folder = join(options.cacheDir, `${name}-${key}`);
  const manifestPath = join(folder, 'manifest.json');
  const cached = readManifest(manifestPath);
  if (cached && hasher.hash(cached.inputs) === cached.hash && existsSync(join(folder, cached.hash))) {
    return { dir: join(folder, cached.hash), built: false };
  }

  const temporary = join(folder, `tmp-${randomUUID()}`);
  mkdirSync(temporary, { recursive: true });
  const result = await build({
    ...BUILD_OPTIONS,
    plugins: [REQUIRE_BUILTINS],
    entryPoints: entries,
    outdir: temporary,
    absWorkingDir: options.root,
    metafile: true,
  });
  // The files read; the plugin's virtual modules are no files.
  const inputs = Object.keys(result.metafile.inputs).filter(
    (input) => !input.startsWith(`${REQUIRED_BUILTIN}:`),
  );
  const hash = hasher.hash(inputs);
  if (hash === undefined) throw new Error(`${name}: an input vanished while it was being bundled`);
  const target = join(folder, hash);
  try {
    renameSync(temporary, target);
  } catch (error) {
    // Another runtime of this checkout built the same sources meanwhile: theirs is as good.
    if (!existsSync(target)) throw error;
    rmSync(temporary, { recursive: true, force: true });
  }
  writeAtomically(manifestPath, JSON.stringify({ inputs, hash } satisfies Manifest));
  prune(folder, hash);
  return { dir: target, built: true };
}

async function bundleOne(fn: LocalFunction, options: BundleOptions, hasher: InputHasher) {
  const { dir, built } = await buildCached(fn.shortName, entryPoints(fn), options, hasher);
  return { fn: withCode(fn, dir), built };
}

/**
 * The container bootstrap (`local/worker.ts`) as JavaScript, built and cached like function code. Every
 * cold container starts it: from the TypeScript source, each worker thread would load Node's type
 * stripper first (about 45 ms per container on an idle machine).
 * @returns the path of the built `worker.mjs`.
 */
export async function bundleContainerBootstrap(options: BundleOptions): Promise<string> {
  const source = fileURLToPath(new URL('./worker.ts', import.meta.url));
  const { dir } = await buildCached(
    'container-bootstrap',
    [{ out: 'worker', in: source }],
    options,
    new InputHasher(options.root),
  );
  return join(dir, 'worker.mjs');
}

/**
 * Bundles every function whose cached bundle is missing or stale, concurrently.
 * @returns the functions with `code` set to their bundles (worker-script variables pointing at theirs),
 *   and the short names of those that were (re)built.
 * @throws the esbuild error of a function whose sources do not build (`errors` lists each message).
 * @example
 * const { functions } = await bundleFunctions(stack.functions, { cacheDir, root: repoRoot });
 */
export async function bundleFunctions(
  functions: readonly LocalFunction[],
  options: BundleOptions,
): Promise<{ functions: LocalFunction[]; built: string[] }> {
  const hasher = new InputHasher(options.root);
  const results = await Promise.all(functions.map((fn) => bundleOne(fn, options, hasher)));
  return {
    functions: results.map((result) => result.fn),
    built: results.filter((result) => result.built).map((result) => result.fn.shortName),
  };
}
