import { describe, expect, it } from 'vitest';
import { DOCS_SCRIPT, DOCS_SCRIPT_FILE, renderDocsPage } from '../../../lambdas/core/report/docs-page.ts';
import { renderIndexPage } from '../../../lambdas/core/report/index-page.ts';
import { renderErrorPage } from '../../../lambdas/core/report/layout.ts';
import type { ModelSummary } from '../../../lambdas/core/report/types.ts';
import { ESCAPED_MARKUP, MARKUP } from './data.ts';

const models: ModelSummary[] = [
  {
    name: 'air-passengers',
    task: 'forecast',
    metric: 'mape',
    description: `Monthly passengers ${MARKUP}`,
    productionVersion: 2,
    productionScore: 2.667,
    candidate: { version: 3, mode: 'shadow' },
    versionCount: 3,
    lastRun: {
      runId: 'exec-3',
      startedAt: '2026-01-03T10:00:00.000Z',
      trigger: 'drop',
      status: 'succeeded',
      outcome: 'shadow',
    },
  },
  { name: 'churn', task: 'classification', metric: 'auc', versionCount: 0 },
];

describe('renderIndexPage', () => {
  it('lists every model with task, serving version, metric, versions and last run, linking its report', () => {
    // Act
    const page = renderIndexPage(models, '2026-01-05T12:00:00.000Z');
    const rows = page.match(/<tr data-model="[^"]+">[\s\S]*?<\/tr>/g) ?? [];
    // Assess
    expect(page).toContain('<title>Models · driftline</title>');
    expect(rows).toHaveLength(2);
    expect(rows[0]).toContain('<a href="models/air-passengers/report">air-passengers</a>');
    expect(rows[0]).toContain('<span class="stage stage-production">v2</span>');
    expect(rows[0]).toContain('shadow v3');
    expect(rows[0]).toContain('2.667%');
    expect(rows[0]).toContain('shadow');
    expect(rows[1]).toContain('none yet');
    expect(rows[1]).toContain('— <span class="meta">AUC</span>');
  });

  it('escapes descriptions', () => {
    const page = renderIndexPage(models, '2026-01-05T12:00:00.000Z');
    expect(page).not.toContain(MARKUP);
    expect(page).toContain(ESCAPED_MARKUP);
  });

  it('prefixes links with the stage segment when served without the trailing slash', () => {
    const page = renderIndexPage(models, '2026-01-05T12:00:00.000Z', 'prod/');
    expect(page).toContain('<a href="prod/models/air-passengers/report">');
    expect(page).toContain('<a href="prod/docs"');
  });

  it('says how to start when no model is registered', () => {
    const page = renderIndexPage([], '2026-01-05T12:00:00.000Z');
    expect(page).toContain('No models registered yet.');
    expect(page).not.toContain('id="models-table"');
  });
});

describe('renderDocsPage', () => {
  it('loads Swagger UI and its start-up script from files next to the page, with no inline script', () => {
    // Act
    const page = renderDocsPage();
    // Assess
    expect(page).toContain('<link rel="stylesheet" href="docs/swagger-ui.css">');
    expect(page).toContain('<script src="docs/swagger-ui-bundle.js" defer></script>');
    expect(page).toContain(`<script src="docs/${DOCS_SCRIPT_FILE}" defer></script>`);
    expect(page).not.toMatch(/<script>|<script [^>]*>[^<]/);
    expect(page).toContain('<div id="swagger-ui">');
  });

  it('points Swagger UI at the document relative to the page, without the online validator', () => {
    expect(DOCS_SCRIPT).toContain("url: 'openapi.json'");
    expect(DOCS_SCRIPT).toContain('validatorUrl: null');
  });
});

describe('renderErrorPage', () => {
  it('shows the status, an escaped message and a link back to the models', () => {
    // Act
    const page = renderErrorPage({
      status: 404,
      title: 'Not found',
      message: `no model ${MARKUP}`,
      root: '../../',
    });
    // Assess
    expect(page).toContain('Error 404');
    expect(page).toContain(`no model ${ESCAPED_MARKUP}`);
    expect(page).toContain('<a href="../../">← All models</a>');
  });
});
