/**
 * The index page: every registered model with its task, what serves, its primary metric and its last
 * run, each linking to the model's report.
 */
import { runPill } from './badges.ts';
import { formatMetric, formatTime, metricLabel } from './format.ts';
import { html } from './html.ts';
import { renderPage } from './layout.ts';
import type { ModelSummary, ReportRun } from './types.ts';

function lastRunCell(run: ReportRun | undefined) {
  if (!run) return html`<span class="meta">none yet</span>`;
  return html`${runPill(run)} <span class="meta">${formatTime(run.startedAt)}</span>`;
}

/**
 * The index page as a complete HTML document. `generatedAt` is an ISO time; `root` is the way from the
 * page's URL to the API root (`''` when the page is served at `<root>/`).
 */
export function renderIndexPage(models: ModelSummary[], generatedAt: string, root = ''): string {
  const rows = models.map(
    (model) => html`<tr data-model="${model.name}">
<th scope="row"><a href="${root}models/${encodeURIComponent(model.name)}/report">${model.name}</a>${model.description ? html`<div class="meta">${model.description.length > 140 ? `${model.description.slice(0, 139)}…` : model.description}</div>` : ''}</th>
<td>${model.task}</td>
<td class="nowrap">${model.productionVersion === undefined ? html`<span class="meta">none</span>` : html`<span class="stage stage-production">v${model.productionVersion}</span>`}${model.candidate === undefined ? '' : html` <span class="stage stage-canary">${model.candidate.mode} v${model.candidate.version}</span>`}</td>
<td class="num">${model.productionScore === undefined ? '—' : formatMetric(model.metric, model.productionScore)} <span class="meta">${metricLabel(model.metric)}</span></td>
<td class="num">${model.versionCount}</td>
<td class="nowrap">${lastRunCell(model.lastRun)}</td>
</tr>`,
  );
  const table =
    models.length === 0
      ? html`<div class="empty"><p><strong>No models registered yet.</strong></p><p>Register a spec with <code>driftline specs add &lt;spec.json&gt;</code>, then upload a CSV drop to <code>incoming/&lt;model&gt;/</code> in the data bucket.</p></div>`
      : html`<div class="scroll"><table id="models-table">
<caption>${models.length} registered model${models.length === 1 ? '' : 's'}; the metric is the production version's score on its holdout.</caption>
<thead><tr><th scope="col">Model</th><th scope="col">Task</th><th scope="col">Serving</th><th scope="col" class="num">Primary metric</th><th scope="col" class="num">Versions</th><th scope="col">Last run</th></tr></thead>
<tbody>${rows}</tbody></table></div>`;
  return renderPage({
    title: 'Models · driftline',
    root,
    current: 'models',
    generatedAt,
    body: html`<div class="page-head"><h1>Models</h1><p class="lead">Each model retrains when new data drifts from what it learned, and serves the version that won on the holdout. Open a report for its versions, drift checks and runs.</p></div>
<section class="card" id="models" aria-labelledby="models-title"><header><h2 id="models-title">Registered models</h2><p class="meta"><a href="${root}docs">API docs</a> · <a href="${root}openapi.json">OpenAPI document</a></p></header>${table}</section>`,
  });
}
