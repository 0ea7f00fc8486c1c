import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleContainerBootstrap, bundleFunctions } from '../../local/bundle.ts';
import { FunctionHost, payloadOf } from '../../local/functions.ts';
import type { LocalFunction } from '../../local/template.ts';

/** A function of the temp project, as `readLocalStack` describes one. */
function fn(root: string, shortName: string, scripts?: Record<string, string>): LocalFunction {
  return {
    logicalId: `${shortName}Logical`,
    name: `Test-${shortName}`,
    shortName,
    arn: `arn:aws:lambda:us-east-1:000000000000:function:Test-${shortName}`,
    entry: join(root, `src/${shortName}.ts`),
    ...(scripts ? { scripts } : {}),
    handler: 'handler',
    environment: { ...scripts },
    timeoutSeconds: 10,
    memoryMb: 256,
    role: { logicalId: `${shortName}Role`, arn: '', name: `${shortName}Role`, statements: [], notes: [] },
  };
}

describe('bundleFunctions', () => {
  let root: string;
  const write = (file: string, text: string) => {
    mkdirSync(dirname(join(root, file)), { recursive: true });
    writeFileSync(join(root, file), text);
  };

  beforeAll(() => {
    // Prepare: a handler that imports a module and starts a worker script, and one that imports neither.
    root = mkdtempSync(join(tmpdir(), 'driftline-bundle-'));
    write('src/lib.ts', "export const greeting: string = 'hello';\n");
    write(
      'src/worker.ts',
      "import { parentPort } from 'node:worker_threads';\nimport { greeting } from './lib.ts';\nparentPort?.postMessage(greeting + ' from the worker');\n",
    );
    write(
      'src/withWorker.ts',
      [
        "import { Worker } from 'node:worker_threads';",
        "import { greeting } from './lib.ts';",
        'export const handler = async () => {',
        '  const worker = new Worker(process.env.WORKER_SCRIPT as string);',
        "  const message: string = await new Promise((resolve) => worker.once('message', resolve));",
        '  await worker.terminate();',
        '  return { greeting, message, taskRoot: process.env.LAMBDA_TASK_ROOT, module: import.meta.url };',
        '};',
        '',
      ].join('\n'),
    );
    write('src/alone.ts', "export const handler = async (): Promise<string> => 'alone';\n");
    write(
      'src/http.ts',
      [
        "import { STATUS_CODES } from 'node:http';",
        "import { Agent } from 'node:https';",
        "import * as zlib from 'node:zlib';",
        "import fsPromises from 'node:fs/promises';",
        'export const handler = async () => ({',
        '  ok: STATUS_CODES[200],',
        "  agent: typeof Agent === 'function',",
        "  zlib: typeof zlib.gzipSync === 'function',",
        "  fsPromises: typeof fsPromises.readFile === 'function',",
        "  undici: process.moduleLoadList.some((name: string) => name.includes('undici')),",
        '});',
        '',
      ].join('\n'),
    );
    write(
      'src/throws.ts',
      "export const handler = async (): Promise<never> => {\n  throw new Error('thrown');\n};\n",
    );
    write(
      'src/requires.ts',
      [
        "import { createRequire } from 'node:module';",
        "export const handler = async () => createRequire(import.meta.url)('node:path').sep;",
        '',
      ].join('\n'),
    );
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('builds one bundle per function and per worker script, which a cold container runs', async () => {
    // Act
    const cacheDir = join(root, 'cache-run');
    const functions = [fn(root, 'withWorker', { WORKER_SCRIPT: join(root, 'src/worker.ts') })];
    const { functions: bundled } = await bundleFunctions(functions, { cacheDir, root });
    const host = new FunctionHost({ functions: bundled, baseEnvironment: {}, log: { line: () => {} } });
    try {
      const answer = payloadOf(await host.invoke('withWorker', {})) as Record<string, string>;

      // Assess: the handler and its worker ran from their bundles in the cache, not from the sources.
      expect(bundled[0].code).toMatch(new RegExp(`^${cacheDir}/withWorker-[0-9a-f]+/[0-9a-f]+/index\\.mjs$`));
      expect(bundled[0].environment.WORKER_SCRIPT).toBe(join(dirname(bundled[0].code ?? ''), 'worker.mjs'));
      expect(answer).toEqual({
        greeting: 'hello',
        message: 'hello from the worker',
        taskRoot: dirname(bundled[0].code ?? ''),
        module: `file://${bundled[0].code}`,
      });
    } finally {
      await host.close();
    }
  });

  it('builds the container bootstrap to JavaScript once, and containers start from it', async () => {
    // Act
    const cacheDir = join(root, 'cache-bootstrap');
    const bootstrap = await bundleContainerBootstrap({ cacheDir, root });
    const again = await bundleContainerBootstrap({ cacheDir, root });
    const { functions: bundled } = await bundleFunctions([fn(root, 'throws')], { cacheDir, root });
    const host = new FunctionHost({
      functions: bundled,
      baseEnvironment: {},
      log: { line: () => {} },
      bootstrap,
    });
    try {
      const result = await host.invoke('throws', {});

      // Assess: the handler was called from the built bootstrap (its frames are in the stack trace).
      expect(bootstrap).toMatch(
        new RegExp(`^${cacheDir}/container-bootstrap-[0-9a-f]+/[0-9a-f]+/worker\\.mjs$`),
      );
      expect(again).toBe(bootstrap);
      expect(result.ok).toBe(false);
      const { trace } = (result as { error: { trace: string[] } }).error;
      expect(trace.some((line) => line.includes(bootstrap))).toBe(true);
      expect(trace.some((line) => line.includes('local/worker.ts'))).toBe(false);
    } finally {
      await host.close();
    }
  });

  it('requires every builtin but node:module, so no ESM facade loads undici in every container', async () => {
    // Act
    const { functions: bundled } = await bundleFunctions([fn(root, 'http')], {
      cacheDir: join(root, 'cache-http'),
      root,
    });
    const host = new FunctionHost({ functions: bundled, baseEnvironment: {}, log: { line: () => {} } });
    try {
      // Assess: the imports work, Node's undici was never loaded, and the bundle imports no builtin but
      // node:module (the banner's createRequire).
      expect(payloadOf(await host.invoke('http', {}))).toEqual({
        ok: 'OK',
        agent: true,
        zlib: true,
        fsPromises: true,
        undici: false,
      });
      const imported = [
        ...readFileSync(bundled[0].code ?? '', 'utf8').matchAll(/^import .* from ['"]([^'"]+)['"]/gm),
      ];
      expect(imported.map((match) => match[1])).toEqual(['node:module']);
    } finally {
      await host.close();
    }
  });

  it('runs a module that imports createRequire itself (as the pages function does) beside the banner', async () => {
    // Act
    const { functions: bundled } = await bundleFunctions([fn(root, 'requires')], {
      cacheDir: join(root, 'cache-requires'),
      root,
    });
    const host = new FunctionHost({ functions: bundled, baseEnvironment: {}, log: { line: () => {} } });
    try {
      // Assess: it loads (no "Identifier 'createRequire' has already been declared") and answers.
      expect(payloadOf(await host.invoke('requires', {}))).toBe('/');
    } finally {
      await host.close();
    }
  });

  it('reuses a bundle until a file it read changes, then rebuilds only the functions that read it', async () => {
    // Prepare
    const cacheDir = join(root, 'cache-reuse');
    const functions = [
      fn(root, 'withWorker', { WORKER_SCRIPT: join(root, 'src/worker.ts') }),
      fn(root, 'alone'),
    ];
    const first = await bundleFunctions(functions, { cacheDir, root });

    // Act: a restart with nothing changed, then one after lib.ts changed.
    const again = await bundleFunctions(functions, { cacheDir, root });
    write('src/lib.ts', "export const greeting: string = 'bonjour';\n");
    const edited = await bundleFunctions(functions, { cacheDir, root });
    const host = new FunctionHost({
      functions: edited.functions,
      baseEnvironment: {},
      log: { line: () => {} },
    });
    let answer: Record<string, string>;
    try {
      answer = payloadOf(await host.invoke('withWorker', {})) as Record<string, string>;
    } finally {
      await host.close();
      write('src/lib.ts', "export const greeting: string = 'hello';\n");
    }

    // Assess
    expect(first.built.sort()).toEqual(['alone', 'withWorker']);
    expect(again.built).toEqual([]);
    expect(again.functions.map((f) => f.code)).toEqual(first.functions.map((f) => f.code));
    expect(edited.built).toEqual(['withWorker']);
    expect(edited.functions[0].code).not.toBe(first.functions[0].code);
    expect(edited.functions[1].code).toBe(first.functions[1].code);
    expect(answer.greeting).toBe('bonjour');
    expect(answer.message).toBe('bonjour from the worker');
  });
});
