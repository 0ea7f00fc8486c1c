import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const coreDir = new URL('../../lambdas/core/', import.meta.url).pathname;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sourceFiles(join(dir, entry.name))
      : entry.name.endsWith('.ts')
        ? [join(dir, entry.name)]
        : [],
  );
}

describe('the pure core', () => {
  it('imports no AWS SDK, Lambda tooling or network module', () => {
    // Prepare
    const forbidden =
      /from '(@aws-sdk\/|@aws-lambda-powertools\/|@middy\/|aws-cdk-lib|node:http|node:https|node:net)/;
    // Act
    const offenders = sourceFiles(coreDir).filter((file) => forbidden.test(readFileSync(file, 'utf8')));
    // Assess
    expect(offenders).toEqual([]);
  });
});
