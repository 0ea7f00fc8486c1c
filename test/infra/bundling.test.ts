import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, describe, expect, it } from 'vitest';
import { DriftlineFunction } from '../../infra/driftline-function.ts';
import { fromProjectRoot } from '../../infra/project.ts';

const WORKER_ENTRY = 'lambdas/core/forest/worker.ts';
const outdir = mkdtempSync(join(tmpdir(), 'driftline-bundling-'));

// The one test that runs the real local esbuild bundling (the Template tests skip it): the train
// function, whose bundle carries the forest worker next to the handler.
describe.skipIf(!existsSync(fromProjectRoot(WORKER_ENTRY)))('DriftlineFunction bundling', () => {
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  it('bundles the handler as ESM index.mjs with the AWS SDK in it, and the worker as forest-worker.mjs, both able to require', () => {
    // Prepare
    const app = new App({ outdir, builtinCloudFormationValidation: false });
    const stack = new Stack(app, 'Bundling');
    new DriftlineFunction(stack, 'train', {
      name: 'train',
      memorySize: 3008,
      timeout: Duration.minutes(15),
      workerScripts: [{ entry: WORKER_ENTRY, outFile: 'forest-worker.mjs', envName: 'FOREST_WORKER_SCRIPT' }],
    });
    // Act
    const code = Object.values(Template.fromStack(stack).findResources('AWS::Lambda::Function'))[0].Properties
      .Code;
    const assetDir = join(outdir, `asset.${code.S3Key.replace(/\.zip$/, '')}`);
    // Assess
    expect(readdirSync(assetDir).sort()).toEqual([
      'forest-worker.mjs',
      'forest-worker.mjs.map',
      'index.mjs',
      'index.mjs.map',
    ]);
    for (const file of ['index.mjs', 'forest-worker.mjs']) {
      expect(readFileSync(join(assetDir, file), 'utf8')).toMatch(
        /^import \{ createRequire as __driftlineCreateRequire \} from 'node:module'; const require = __driftlineCreateRequire\(import\.meta\.url\);/,
      );
    }
    expect(readFileSync(join(assetDir, 'index.mjs'), 'utf8')).toMatch(/export\s*\{[^}]*as handler/);
    // The AWS SDK is in the bundle (tree-shaken), not imported from the Lambda runtime's CommonJS copy (a
    // guarded require of the optional CRT signer stays, as the SDK writes it).
    const index = readFileSync(join(assetDir, 'index.mjs'), 'utf8');
    expect(index).not.toMatch(/(from\s*|import\(\s*)["']@aws-sdk\//);
    expect(index).toContain('PutObject');
  });

  it('bundles the pages function, which imports createRequire itself, into a module Node parses', () => {
    // Prepare
    const app = new App({ outdir, builtinCloudFormationValidation: false });
    const stack = new Stack(app, 'PagesBundling');
    new DriftlineFunction(stack, 'pages', { name: 'pages', memorySize: 256, timeout: Duration.seconds(10) });
    const code = Object.values(Template.fromStack(stack).findResources('AWS::Lambda::Function'))[0].Properties
      .Code;
    // Act: `--check` parses the module, which reports an identifier declared twice (banner and bundle).
    const checked = spawnSync(process.execPath, [
      '--check',
      join(outdir, `asset.${code.S3Key.replace(/\.zip$/, '')}`, 'index.mjs'),
    ]);
    // Assess
    expect(checked.stderr.toString()).toBe('');
    expect(checked.status).toBe(0);
  });
});
