/**
 * The static files of the docs page, read once at cold start: Swagger UI's bundle and stylesheet from
 * `swagger-ui-dist`, and our start-up script. In the repository they come from `node_modules`; a bundled
 * Lambda has no `node_modules`, so the deployment copies the files next to the bundle and names the
 * folder in `DOCS_ASSETS_DIR`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { DOCS_SCRIPT, DOCS_SCRIPT_FILE, SWAGGER_UI_FILES } from '#core/report/docs-page.ts';
import { optionalEnv } from '../shared/config.ts';
import { ConfigError } from '../shared/errors.ts';

/** The environment variable naming the folder that holds the `swagger-ui-dist` files. */
export const DOCS_ASSETS_ENV = 'DOCS_ASSETS_DIR';

export interface StaticAsset {
  body: string;
  contentType: string;
}

const CONTENT_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

function contentTypeOf(file: string): string {
  return CONTENT_TYPES[file.slice(file.lastIndexOf('.'))] ?? 'application/octet-stream';
}

/**
 * The folder with the Swagger UI files: `DOCS_ASSETS_DIR` when set, else `swagger-ui-dist` as Node
 * resolves it from this module.
 * @throws ConfigError naming `DOCS_ASSETS_DIR` when neither is available.
 */
export function docsAssetsDirectory(): string {
  const configured = optionalEnv(DOCS_ASSETS_ENV);
  if (configured !== undefined) return configured;
  try {
    return dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
  } catch {
    throw new ConfigError(
      `environment variable ${DOCS_ASSETS_ENV} is required when swagger-ui-dist is not installed: set it to a folder with ${SWAGGER_UI_FILES.join(', ')}`,
    );
  }
}

/**
 * Every file the docs page loads, by the name it is served under (`docs/<name>`).
 * @throws ConfigError naming the folder and `DOCS_ASSETS_DIR` when a file is missing.
 */
export function loadDocsAssets(directory: string): Map<string, StaticAsset> {
  const assets = new Map<string, StaticAsset>();
  for (const file of SWAGGER_UI_FILES) {
    const path = join(directory, file);
    if (!existsSync(path)) {
      throw new ConfigError(
        `${path} does not exist: ${DOCS_ASSETS_ENV} must name a folder with the swagger-ui-dist files ${SWAGGER_UI_FILES.join(', ')}`,
      );
    }
    assets.set(file, { body: readFileSync(path, 'utf8'), contentType: contentTypeOf(file) });
  }
  assets.set(DOCS_SCRIPT_FILE, { body: DOCS_SCRIPT, contentType: contentTypeOf(DOCS_SCRIPT_FILE) });
  return assets;
}
