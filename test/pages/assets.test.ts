import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DOCS_SCRIPT } from '../../lambdas/core/report/docs-page.ts';
import { DOCS_ASSETS_ENV, docsAssetsDirectory, loadDocsAssets } from '../../lambdas/pages/assets.ts';

const folders: string[] = [];

function folderWith(files: Record<string, string>): string {
  const folder = mkdtempSync(join(tmpdir(), 'driftline-docs-'));
  folders.push(folder);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(folder, name), text);
  return folder;
}

afterEach(() => {
  delete process.env[DOCS_ASSETS_ENV];
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

describe('the docs assets', () => {
  it('come from DOCS_ASSETS_DIR when it is set (a bundled Lambda)', () => {
    // Prepare
    const folder = folderWith({ 'swagger-ui-bundle.js': 'bundle();', 'swagger-ui.css': 'a{}' });
    process.env[DOCS_ASSETS_ENV] = folder;
    // Act
    const assets = loadDocsAssets(docsAssetsDirectory());
    // Assess
    expect([...assets.keys()].sort()).toEqual([
      'driftline-docs.js',
      'swagger-ui-bundle.js',
      'swagger-ui.css',
    ]);
    expect(assets.get('swagger-ui-bundle.js')).toEqual({
      body: 'bundle();',
      contentType: 'text/javascript; charset=utf-8',
    });
    expect(assets.get('driftline-docs.js')?.body).toBe(DOCS_SCRIPT);
  });

  it('come from node_modules/swagger-ui-dist otherwise (the repository)', () => {
    expect(docsAssetsDirectory()).toMatch(/node_modules\/swagger-ui-dist$/);
  });

  it('fail the cold start with a ConfigError naming DOCS_ASSETS_DIR when a file is missing', () => {
    const folder = folderWith({ 'swagger-ui.css': 'a{}' });
    expect(() => loadDocsAssets(folder)).toThrow(
      expect.objectContaining({ name: 'ConfigError', message: expect.stringContaining('DOCS_ASSETS_DIR') }),
    );
  });
});
