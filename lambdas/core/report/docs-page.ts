/**
 * The interactive API docs page: Swagger UI from the bundled `swagger-ui-dist` files, served by the
 * pages function itself under `docs/` (no CDN), started by a small script file of our own because the
 * content security policy allows no inline script.
 */
import { html } from './html.ts';
import { renderPage } from './layout.ts';

/** The files of `swagger-ui-dist` the docs page loads, served at `docs/<file>`. */
export const SWAGGER_UI_FILES = ['swagger-ui-bundle.js', 'swagger-ui.css'] as const;

/** Our start-up script, served at `docs/<file>` next to the Swagger UI files. */
export const DOCS_SCRIPT_FILE = 'driftline-docs.js';

/**
 * The script that starts Swagger UI on `#swagger-ui` with the OpenAPI document. Its URL is relative to
 * the page (`<root>/docs` → `<root>/openapi.json`) so any API prefix works; the online spec validator is
 * off so the page makes no request outside the API.
 */
export const DOCS_SCRIPT = `window.addEventListener('load', function () {
  window.ui = SwaggerUIBundle({
    url: 'openapi.json',
    dom_id: '#swagger-ui',
    deepLinking: true,
    validatorUrl: null,
    tryItOutEnabled: false,
    displayRequestDuration: true,
    defaultModelsExpandDepth: 1,
    docExpansion: 'list',
    presets: [SwaggerUIBundle.presets.apis],
    layout: 'BaseLayout'
  });
});
`;

/** The docs page as a complete HTML document (at `<root>/docs`). */
export function renderDocsPage(): string {
  return renderPage({
    title: 'API docs · driftline',
    root: '',
    current: 'docs',
    head: html`<link rel="stylesheet" href="docs/swagger-ui.css">
<script src="docs/swagger-ui-bundle.js" defer></script>
<script src="docs/${DOCS_SCRIPT_FILE}" defer></script>
<style>#swagger-ui .information-container .info { margin: 18px 0 8px; } #swagger-ui .scheme-container { box-shadow: none; border: 1px solid var(--border); border-radius: 10px; padding: 14px 18px; margin: 0 0 8px; } #swagger-ui .wrapper { padding: 0; max-width: none; }</style>`,
    body: html`<div class="page-head"><h1>API docs</h1><p class="lead">Every route of the driftline API with its request and response schemas, generated from the schemas that validate requests. Try a prediction from here, or fetch the <a href="openapi.json">OpenAPI document</a>.</p></div>
<section class="card" aria-label="Operations"><div id="swagger-ui"><p class="meta">Loading the interactive docs…</p></div></section>`,
  });
}
