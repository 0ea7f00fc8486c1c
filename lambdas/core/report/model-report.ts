/**
 * The model report: one self-contained HTML page per model with what serves (production, and a canary or
 * shadow candidate baking), the versions (timeline, table, primary metric per version), the production
 * version's holdout charts, the latest drift check column by column, and the recent runs. Pure: data in,
 * HTML out.
 */
import type { ColumnDrift } from '../drift.ts';
import { metricsForTask } from '../metrics.ts';
import { candidateBadge, runPill, stageBadge, verdictPill } from './badges.ts';
import {
  formatDataset,
  formatElapsed,
  formatMetric,
  formatNumber,
  formatParams,
  formatPValue,
  formatStepTimes,
  formatTime,
  higherIsBetter,
  isPercentMetric,
  metricLabel,
} from './format.ts';
import { confusionTable, forecastChart, regressionChart, rocChart } from './holdout.ts';
import { html, type SafeHtml } from './html.ts';
import { renderPage } from './layout.ts';
import { COLORS, histogramPair, xyChart } from './svg.ts';
import { STAGE_COLORS, stageLabel, versionTimeline } from './timeline.ts';
import type {
  ModelReportData,
  ReportDrift,
  ReportPointer,
  ReportRun,
  ReportSpec,
  ReportVersion,
} from './types.ts';

/** From `/models/{name}/report` back to the API root. */
const ROOT = '../../';

function candidateDetail(candidate: ReportPointer): string {
  const share =
    candidate.mode === 'shadow'
      ? 'predicts alongside production, answers nothing'
      : candidate.weight === undefined
        ? 'answers a share of requests'
        : `answers ${formatNumber(candidate.weight * 100, 3)}% of requests`;
  return `${share}${candidate.bakeUntil ? `; bakes until ${formatTime(candidate.bakeUntil)}` : ''}`;
}

function pageHead(data: ModelReportData): SafeHtml {
  const { spec } = data;
  const direction = higherIsBetter(spec.metric) ? 'higher is better' : 'lower is better';
  return html`<div class="page-head">
<p class="meta"><a href="${ROOT}">Models</a> / report</p>
<h1>${data.name}</h1>
${spec.description ? html`<p class="lead">${spec.description}</p>` : ''}
<div class="tags"><span class="tag">task <strong>${spec.task}</strong></span><span class="tag">target <strong>${spec.target}</strong></span><span class="tag">metric <strong>${metricLabel(spec.metric)}</strong> (${direction})</span><span class="tag">versions <strong>${data.versions.length}</strong></span></div>
</div>`;
}

function kpis(data: ModelReportData, production: ReportVersion | undefined): SafeHtml {
  const { spec } = data;
  const lastRun = data.runs[0];
  const drift = data.drift?.report;
  const score = production?.metrics[spec.metric];
  return html`<section class="kpis" id="overview" aria-label="Overview">
<div class="kpi" id="kpi-production"><div class="label">Production</div>${
    data.production
      ? html`<div class="value">v${data.production.version} ${stageBadge('production')}</div><div class="detail">since ${formatTime(data.production.since)}</div>`
      : html`<div class="value">none</div><div class="detail">no version serves yet</div>`
  }</div>
<div class="kpi" id="kpi-candidate"><div class="label">Candidate</div>${
    data.candidate
      ? html`<div class="value">v${data.candidate.version} ${candidateBadge(data.candidate)}</div><div class="detail">${candidateDetail(data.candidate)}</div>`
      : html`<div class="value">none</div><div class="detail">all traffic on production</div>`
  }</div>
<div class="kpi" id="kpi-score"><div class="label">Holdout ${metricLabel(spec.metric)}</div><div class="value">${formatMetric(spec.metric, score)}</div><div class="detail">${production ? `production v${production.version}, ${production.lineage ? `${production.lineage.holdoutRows} holdout rows` : 'holdout'}` : 'no production version'}</div></div>
<div class="kpi" id="kpi-run"><div class="label">Last run</div>${
    lastRun
      ? html`<div class="value">${runPill(lastRun)}</div><div class="detail">${formatTime(lastRun.startedAt)} · ${lastRun.trigger.replaceAll('_', ' ')}</div>`
      : html`<div class="value">none</div><div class="detail">no pipeline run yet</div>`
  }</div>
<div class="kpi" id="kpi-drift"><div class="label">Latest drift check</div>${
    drift
      ? html`<div class="value">${verdictPill(drift.status)}</div><div class="detail">${drift.driftedColumns.length} of ${drift.columns.length} columns drifted (${formatNumber(drift.share * 100, 3)}%, threshold ${formatNumber(drift.threshold * 100, 3)}%)</div>`
      : html`<div class="value">none</div><div class="detail">no drop compared yet</div>`
  }</div>
</section>`;
}

function championCell(version: ReportVersion, metric: string): SafeHtml | string {
  const value = version.championMetrics?.[metric];
  if (version.championVersion === undefined || value === undefined) return '—';
  const own = version.metrics[metric];
  const better = higherIsBetter(metric) ? own > value : own < value;
  return html`v${version.championVersion}: ${formatMetric(metric, value)} <span class="${better ? 'better' : 'worse'}" title="${better ? 'this version scored better on the same holdout' : 'the champion scored at least as well on the same holdout'}">${better ? '▲' : '▼'}</span>`;
}

function versionsSection(data: ModelReportData, ordered: ReportVersion[]): SafeHtml {
  const metric = data.spec.metric;
  const live = data.liveMetrics ?? {};
  const showLive = Object.keys(live).length > 0;
  const rows = [...ordered].reverse().map((version) => {
    const serving = data.production?.version === version.version;
    return html`<tr class="${serving ? 'is-production' : ''}" data-version="${version.version}">
<th scope="row" class="nowrap">v${version.version}</th>
<td class="nowrap">${stageBadge(version.stage)}${data.candidate?.version === version.version ? html` ${candidateBadge(data.candidate)}` : ''}</td>
<td class="num">${formatMetric(version.metric, version.metrics[version.metric])}</td>
${showLive ? html`<td class="num">${formatMetric(metric, live[version.version])}</td>` : ''}
<td class="nowrap">${championCell(version, version.metric)}</td>
<td class="nowrap">${version.engine}</td>
<td class="params">${formatParams(version.params)}</td>
<td class="nowrap">${formatTime(version.createdAt)}</td>
<td class="reason">${version.reason}</td>
</tr>`;
  });
  return html`<section class="card" id="versions" aria-labelledby="versions-title">
<header><h2 id="versions-title">Versions</h2><p class="meta">Every trained version with its stage; arcs are the audit's promotions and rollbacks.</p></header>
${versionTimeline(ordered, data.audit, { production: data.production, candidate: data.candidate })}
<div class="scroll"><table id="versions-table">
<caption>${ordered.length} version${ordered.length === 1 ? '' : 's'} of ${data.name}, newest first. ${metricLabel(metric)} is measured on each version's holdout; the champion column scores the version that served then on the very same rows.</caption>
<thead><tr><th scope="col">Version</th><th scope="col">Stage</th><th scope="col" class="num">${metricLabel(metric)} holdout</th>${showLive ? html`<th scope="col" class="num">${metricLabel(metric)} live</th>` : ''}<th scope="col">Champion</th><th scope="col">Engine</th><th scope="col">Parameters</th><th scope="col">Created</th><th scope="col">Reason</th></tr></thead>
<tbody>${rows}</tbody></table></div>
</section>`;
}

function metricSection(data: ModelReportData, ordered: ReportVersion[]): SafeHtml {
  const metric = data.spec.metric;
  const label = metricLabel(metric);
  const position = new Map(ordered.map((version, i) => [version.version, i]));
  const holdoutPoints = ordered.flatMap((version) => {
    const value = version.metrics[metric];
    if (value === undefined) return [];
    return [
      {
        x: position.get(version.version)!,
        y: value,
        color: Object.hasOwn(STAGE_COLORS, version.stage) ? STAGE_COLORS[version.stage] : COLORS.grey,
        title: `v${version.version} (${stageLabel(version.stage)}): ${label} ${formatMetric(metric, value)}`,
      },
    ];
  });
  if (holdoutPoints.length === 0) {
    return html`<section class="card" id="metric" aria-labelledby="metric-title"><header><h2 id="metric-title">${label} by version</h2></header><p class="empty">No version recorded ${label}.</p></section>`;
  }
  const championPoints = ordered.flatMap((version) => {
    const value = version.championMetrics?.[metric];
    if (value === undefined) return [];
    return [
      {
        x: position.get(version.version)!,
        y: value,
        title: `v${version.championVersion} (champion) on v${version.version}'s holdout: ${formatMetric(metric, value)}`,
      },
    ];
  });
  const livePoints = ordered.flatMap((version) => {
    const value = data.liveMetrics?.[version.version];
    if (value === undefined) return [];
    return [
      {
        x: position.get(version.version)!,
        y: value,
        title: `v${version.version} live: ${formatMetric(metric, value)}`,
      },
    ];
  });
  const series = [
    { name: `${label} on holdout`, color: COLORS.blue, points: holdoutPoints, markers: true },
    ...(championPoints.length
      ? [
          {
            name: 'champion on the same holdout',
            color: COLORS.grey,
            points: championPoints,
            kind: 'points' as const,
            hollow: true,
          },
        ]
      : []),
    ...(livePoints.length
      ? [{ name: `${label} live`, color: COLORS.purple, points: livePoints, markers: true, dashed: true }]
      : []),
  ];
  const summary = `${label} per version (${higherIsBetter(metric) ? 'higher' : 'lower'} is better): ${ordered
    .filter((version) => version.metrics[metric] !== undefined)
    .map((version) => `v${version.version} ${formatMetric(metric, version.metrics[metric])}`)
    .join(', ')}.`;
  const unit = isPercentMetric(metric) ? ' (%)' : '';
  return html`<section class="card" id="metric" aria-labelledby="metric-title">
<header><h2 id="metric-title">${label} by version</h2><p class="meta">${higherIsBetter(metric) ? 'Higher' : 'Lower'} is better; dots take the colour of the version's stage.</p></header>
${xyChart({
  id: 'metric-chart',
  summary,
  series,
  x: {
    label: 'version',
    domain: [-0.5, Math.max(0.5, ordered.length - 0.5)],
    ticks: ordered.map((version, i) => ({ value: i, label: `v${version.version}` })),
  },
  y: { label: `${label}${unit}` },
  height: 280,
})}
</section>`;
}

/** Every holdout metric of a version, in the catalogue's order, the primary one highlighted. */
function metricStrip(version: ReportVersion, spec: ReportSpec): SafeHtml {
  const primary = spec.metric;
  const known = metricsForTask(spec.task).filter((metric) => version.metrics[metric] !== undefined);
  const others = Object.keys(version.metrics).filter(
    (metric) => !(known as readonly string[]).includes(metric),
  );
  return html`<dl class="metrics" aria-label="Holdout metrics of version ${version.version}">${[
    ...known,
    ...others,
  ].map(
    (metric) =>
      html`<div class="${metric === primary ? 'primary' : ''}"><dt>${metricLabel(metric)}</dt><dd>${formatMetric(metric, version.metrics[metric])}</dd></div>`,
  )}</dl>`;
}

function holdoutSection(data: ModelReportData, production: ReportVersion | undefined): SafeHtml | string {
  const { holdout, spec } = data;
  if (!production) return '';
  const title = html`<header><h2 id="holdout-title">Holdout predictions</h2><p class="meta">Version ${production.version} (production) on the rows it never saw in training.</p></header>`;
  if (!holdout) {
    return html`<section class="card" id="holdout" aria-labelledby="holdout-title">${title}<p class="empty">The holdout predictions of version ${production.version} are not available.</p></section>`;
  }
  let charts: SafeHtml;
  try {
    const score = production.metrics[spec.metric];
    if (spec.task === 'forecast') charts = forecastChart(holdout, spec.target, spec.metric, score);
    else if (spec.task === 'regression') charts = regressionChart(holdout, spec.target, spec.metric, score);
    else
      charts = html`<div class="chart-grid"><div><h3>ROC curve</h3>${rocChart(holdout, spec.target)}</div><div><h3>Confusion matrix</h3>${confusionTable(holdout, spec.target)}</div></div>`;
  } catch (error) {
    // A malformed artifact costs this section only; the rest of the report still renders.
    if (!(error instanceof RangeError)) throw error;
    charts = html`<p class="notice warn">The holdout predictions of version ${holdout.version} cannot be charted: ${error.message}.</p>`;
  }
  return html`<section class="card" id="holdout" aria-labelledby="holdout-title">${title}${metricStrip(production, spec)}${charts}</section>`;
}

function binNames(column: ColumnDrift): string[] {
  const distribution = column.distribution!;
  if (distribution.categories.length > 0) return distribution.categories;
  return distribution.reference.map(
    (_, i) => `${formatNumber(distribution.edges[i])} to ${formatNumber(distribution.edges[i + 1])}`,
  );
}

function histogramCell(column: ColumnDrift): SafeHtml | string {
  const distribution = column.distribution;
  if (!distribution || distribution.reference.length === 0) return '—';
  const bins = binNames(column);
  const change = (i: number) => (distribution.current[i] ?? 0) - distribution.reference[i];
  const largest = distribution.reference.reduce(
    (best, _, i) => (Math.abs(change(i)) > Math.abs(change(best)) ? i : best),
    0,
  );
  const shift = change(largest) * 100;
  try {
    return histogramPair({
      bins,
      reference: distribution.reference,
      current: distribution.current,
      summary: `${column.column}: reference (grey) against current (blue) shares over ${bins.length} ${distribution.categories.length > 0 ? 'categories' : 'bins'}; the largest change is ${shift >= 0 ? '+' : ''}${formatNumber(shift, 2)} points in ${bins[largest]}.`,
    });
  } catch (error) {
    // A malformed distribution (shares and bins disagree) costs its own cell only.
    if (error instanceof RangeError) return '—';
    throw error;
  }
}

const SEVERITY_ORDER: Record<string, number> = { high: 0, medium: 1, low: 2 };

function driftSection(drift: ReportDrift | undefined): SafeHtml {
  const heading = html`<h2 id="drift-title">Data drift</h2>`;
  if (!drift) {
    return html`<section class="card" id="drift" aria-labelledby="drift-title"><header>${heading}</header><p class="empty">No drift check yet: the first drop becomes the baseline, and every later drop is compared with it.</p></section>`;
  }
  const { report } = drift;
  const columns = report.columns
    .map((column, index) => ({ column, index }))
    .sort(
      (a, b) =>
        Number(b.column.drifted) - Number(a.column.drifted) ||
        (SEVERITY_ORDER[a.column.severity] ?? 3) - (SEVERITY_ORDER[b.column.severity] ?? 3) ||
        a.index - b.index,
    )
    .map(({ column }) => column);
  const rows = columns.map(
    (column) => html`<tr data-column="${column.column}" data-verdict="${column.verdict}">
<th scope="row">${column.column}</th>
<td>${column.kind}</td>
<td>${column.test}</td>
<td class="num">${formatNumber(column.statistic)}</td>
<td class="num">${formatPValue(column.pValue)}</td>
<td class="num">${column.pValue === null ? '≥ ' : 'p < '}${formatNumber(column.threshold)}</td>
<td class="num">${formatNumber(column.psi)}</td>
<td class="sev-${column.severity === 'high' || column.severity === 'medium' ? column.severity : 'low'}">${column.severity}</td>
<td>${verdictPill(column.verdict)}</td>
<td>${histogramCell(column)}</td>
</tr>`,
  );
  const tone = report.status === 'drift' ? 'bad' : report.status === 'no_drift' ? '' : 'warn';
  return html`<section class="card" id="drift" aria-labelledby="drift-title">
<header>${heading}<p class="meta">Run <code>${drift.runId}</code>, ${formatTime(drift.startedAt)}</p></header>
<p class="notice ${tone}">${verdictPill(report.status)} ${report.summary}</p>
${report.reference || report.current ? html`<p class="meta">Reference <code>${report.reference ?? '—'}</code> · current <code>${report.current ?? '—'}</code></p>` : ''}
<div class="scroll"><table id="drift-table">
<caption>Per column: the test chosen for its type and size, its statistic and p-value (p-value tests) or distance, the drift threshold, the population stability index, severity (KS D or total variation distance above 0.2 high, above 0.1 medium) and small histograms of the reference (grey) and current (blue) data. Drifted columns first.</caption>
<thead><tr><th scope="col">Column</th><th scope="col">Kind</th><th scope="col">Test</th><th scope="col" class="num">Statistic</th><th scope="col" class="num">p-value</th><th scope="col" class="num">Drift at</th><th scope="col" class="num">PSI</th><th scope="col">Severity</th><th scope="col">Verdict</th><th scope="col">Reference vs current</th></tr></thead>
<tbody>${rows}</tbody></table></div>
</section>`;
}

function runsSection(runs: ReportRun[]): SafeHtml {
  if (runs.length === 0) {
    return html`<section class="card" id="runs" aria-labelledby="runs-title"><header><h2 id="runs-title">Runs</h2></header><p class="empty">No pipeline run yet.</p></section>`;
  }
  const rows = runs.map(
    (run) => html`<tr data-run="${run.runId}">
<td class="nowrap">${formatTime(run.startedAt)}</td>
<td class="nowrap">${run.trigger.replaceAll('_', ' ')}</td>
<td class="nowrap">${runPill(run)}</td>
<td class="num">${formatElapsed(run.startedAt, run.finishedAt)}</td>
<td class="steps">${formatStepTimes(run.durations)}</td>
<td>${formatDataset(run.dataset)}</td>
<td class="nowrap">${run.version === undefined ? '—' : `v${run.version}`}</td>
<td class="reason">${run.failure ? html`<strong>${run.failure.error}</strong>: ${run.failure.reason}` : (run.decision ?? '—')}</td>
<td class="nowrap mono">${run.runId}</td>
</tr>`,
  );
  return html`<section class="card" id="runs" aria-labelledby="runs-title">
<header><h2 id="runs-title">Runs</h2><p class="meta">Pipeline executions, newest first.</p></header>
<div class="scroll"><table id="runs-table">
<caption>The ${runs.length} latest run${runs.length === 1 ? '' : 's'}: what started each, how it ended, how long it took and where the time went (each step, from its first attempt's start to its last attempt's end), the data it trained on (what the history window left out, and the drops merged by the run and in all), and why.</caption>
<thead><tr><th scope="col">Started</th><th scope="col">Trigger</th><th scope="col">Outcome</th><th scope="col" class="num">Duration</th><th scope="col">Steps</th><th scope="col">Data</th><th scope="col">Version</th><th scope="col">Decision or failure</th><th scope="col">Run</th></tr></thead>
<tbody>${rows}</tbody></table></div>
</section>`;
}

function noVersionsSection(name: string): SafeHtml {
  return html`<section class="card" id="versions" aria-labelledby="versions-title">
<header><h2 id="versions-title">Versions</h2></header>
<div class="empty"><p><strong>No version of ${name} yet.</strong></p><p>Upload a CSV drop to <code>incoming/${name}/</code> in the data bucket (or run <code>driftline upload &lt;file.csv&gt; --model ${name}</code>): the pipeline validates it, trains, and registers the first version here.</p></div>
</section>`;
}

/**
 * The report page of one model as a complete HTML document.
 * @example renderModelReport({ name: 'air-passengers', spec, versions, runs, audit, generatedAt })
 */
export function renderModelReport(data: ModelReportData): string {
  const ordered = [...data.versions].sort((a, b) => a.version - b.version);
  const production = data.production
    ? ordered.find((version) => version.version === data.production!.version)
    : undefined;
  const sections =
    ordered.length === 0
      ? html`${noVersionsSection(data.name)}${driftSection(data.drift)}${runsSection(data.runs)}`
      : html`${versionsSection(data, ordered)}${metricSection(data, ordered)}${holdoutSection(data, production)}${driftSection(data.drift)}${runsSection(data.runs)}`;
  return renderPage({
    title: `${data.name} · model report · driftline`,
    root: ROOT,
    current: 'models',
    generatedAt: data.generatedAt,
    body: html`${pageHead(data)}${kpis(data, production)}${sections}`,
  });
}
