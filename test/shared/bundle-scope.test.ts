import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { fromProjectRoot } from '../../infra/project.ts';

/** The repository files esbuild puts in a function's bundle (as `NodejsFunction` and the local runtime do). */
async function bundledFiles(name: string): Promise<string[]> {
  const result = await build({
    entryPoints: [fromProjectRoot(`lambdas/${name}/handler.ts`)],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    mainFields: ['module', 'main'],
    absWorkingDir: fromProjectRoot('.'),
    write: false,
    metafile: true,
    outdir: 'out',
    logLevel: 'silent',
  });
  return Object.keys(result.metafile.inputs).filter((input) => input.startsWith('lambdas/'));
}

describe('what a function bundle loads', () => {
  it("keeps the API's zod schemas out of the pipeline steps, which build every schema they load in each cold container", async () => {
    // Act
    const [merge, predict] = await Promise.all([bundledFiles('merge'), bundledFiles('predict')]);
    // Assess: the registry (every step loads it) no longer pulls them in; the API's functions still do.
    expect(merge).toContain('lambdas/shared/registry.ts');
    expect(merge).not.toContain('lambdas/shared/api-schemas.ts');
    expect(predict).toContain('lambdas/shared/api-schemas.ts');
  });
});
