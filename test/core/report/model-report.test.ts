import { describe, expect, it } from 'vitest';
import { confusionTable, rocChart } from '../../../lambdas/core/report/holdout.ts';
import { renderModelReport } from '../../../lambdas/core/report/model-report.ts';
import { classifierReport, ESCAPED_MARKUP, forecastReport, MARKUP, version } from './data.ts';

/** The markup of the element with this id, up to its own closing tag (same-name children counted). */
function element(page: string, tag: string, id: string): string {
  const start = new RegExp(`<${tag}[^>]*\\bid="${id}"[^>]*>`).exec(page);
  if (!start) throw new Error(`no <${tag} id="${id}"> in the page`);
  const tags = new RegExp(`<(/?)${tag}[\\s>]`, 'g');
  tags.lastIndex = start.index + start[0].length;
  let depth = 1;
  for (let match = tags.exec(page); match; match = tags.exec(page)) {
    depth += match[1] ? -1 : 1;
    if (depth === 0) return page.slice(start.index, match.index + `</${tag}>`.length);
  }
  throw new Error(`<${tag} id="${id}"> is not closed`);
}

function bodyRows(table: string): string[] {
  const body = /<tbody>([\s\S]*?)<\/tbody>/.exec(table)?.[1] ?? '';
  return body.match(/<tr[\s>][\s\S]*?<\/tr>/g) ?? [];
}

describe('renderModelReport', () => {
  it('renders one self-contained document: title, inline CSS, no script, no external source', () => {
    // Act
    const page = renderModelReport(forecastReport());
    // Assess
    expect(page).toMatch(/^<!doctype html>\n<html lang="en">/);
    expect(page).toContain('<title>air-passengers · model report · driftline</title>');
    expect(page).toContain('<style>');
    expect(page).not.toMatch(/<script|<link rel="stylesheet|src="http|href="http/i);
  });

  it('escapes every piece of user data: description, reasons, failures, audit and column names', () => {
    // Act
    const page = renderModelReport(forecastReport());
    // Assess
    expect(page).not.toContain(MARKUP);
    expect(page).not.toMatch(/<img|onerror=alert\(1\)>/);
    // Description, version reason, failure reason, drift column (row header, data attribute, summary).
    expect(page.split(ESCAPED_MARKUP).length - 1).toBeGreaterThanOrEqual(5);
  });

  it('shows production and every section of a forecast, with the versions newest first', () => {
    // Act
    const page = renderModelReport(forecastReport());
    const versions = bodyRows(element(page, 'table', 'versions-table'));
    // Assess
    expect(element(page, 'div', 'kpi-production')).toContain('v1');
    expect(versions.map((row) => /<th scope="row"[^>]*>(v\d+)<\/th>/.exec(row)?.[1])).toEqual(['v2', 'v1']);
    expect(versions[1]).toContain('class="is-production"');
    expect(versions[0]).toContain('stage-rolled_back');
    expect(versions[0]).toContain('3%');
    expect(element(page, 'svg', 'timeline')).toContain('1 rollback recorded');
    expect(element(page, 'svg', 'metric-chart')).toContain(
      'MAPE per version (lower is better): v1 4%, v2 3%.',
    );
    expect(element(page, 'svg', 'holdout-chart')).toContain('Holdout of 3 steps (1960-10 to 1960-12)');
    expect(bodyRows(element(page, 'table', 'runs-table'))).toHaveLength(2);
    expect(page).not.toContain('id="roc"');
    expect(page).not.toContain('id="confusion"');
  });

  it('lists drifted columns first with test, statistic, p-value, PSI, severity and histograms', () => {
    // Act
    const drift = element(renderModelReport(forecastReport()), 'section', 'drift');
    const rows = bodyRows(drift);
    // Assess
    expect(rows).toHaveLength(2);
    expect(rows[0]).toContain(`data-column="${ESCAPED_MARKUP}"`);
    expect(rows[0]).toMatch(
      /<td>ks<\/td>\s*<td class="num">0\.41<\/td>\s*<td class="num">1\.2e-9<\/td>\s*<td class="num">p &lt; 0\.05<\/td>\s*<td class="num">0\.9<\/td>\s*<td class="sev-high">high<\/td>/,
    );
    expect(rows[1]).toContain('data-column="lag_1"');
    expect(drift.match(/<svg class="histogram"/g)).toHaveLength(2);
    expect(drift).toContain('the largest change is -25 points in 100 to 200');
  });

  it('shows the runs with duration, the time of each step, the data and the failure or decision', () => {
    // Act
    const runs = bodyRows(element(renderModelReport(forecastReport()), 'table', 'runs-table'));
    // Assess
    expect(runs[0]).toContain('pill-bad');
    expect(runs[0]).toContain('2.5 s');
    expect(runs[0]).toContain('<strong>InvalidDataError</strong>: line 2:');
    expect(runs[1]).toContain('1 min 15 s');
    expect(runs[1]).toContain('MAPE 3% beats 4%');
    expect(runs[1]).toContain('<td class="steps">validate 400 ms · search 1 min 1 s · fit 12.5 s</td>');
    expect(runs[0]).toContain('<td class="steps">—</td>');
    expect(runs[1]).toContain(
      '<td>120 months, 24 older left out by the 120-month window · 1 drop merged, 3 in all</td>',
    );
    expect(runs[0]).toContain('<td>—</td>');
  });

  it('shows a classifier with its ROC curve, confusion matrix and the candidate baking', () => {
    // Act
    const page = renderModelReport(classifierReport());
    // Assess
    expect(page).toContain('id="roc"');
    expect(page).toContain('id="confusion"');
    expect(page).not.toContain('id="holdout-chart"');
    expect(element(page, 'div', 'kpi-candidate')).toContain(
      'answers 20% of requests; bakes until 2026-01-02 10:30 UTC',
    );
    expect(element(page, 'svg', 'timeline')).toContain('class="event event-candidate"');
  });

  it('adds a live metric column and series when live metrics are given', () => {
    // Prepare
    const data = { ...forecastReport(), liveMetrics: { 1: 6.5 } };
    // Act
    const page = renderModelReport(data);
    // Assess
    expect(element(page, 'table', 'versions-table')).toContain('MAPE live');
    expect(bodyRows(element(page, 'table', 'versions-table'))[1]).toContain('6.5%');
    expect(element(page, 'svg', 'metric-chart')).toContain('v1 live: 6.5%');
  });

  it('renders a model without versions as a friendly page saying how to train one', () => {
    // Prepare
    const data = {
      ...forecastReport(),
      production: undefined,
      versions: [],
      runs: [],
      audit: [],
      drift: undefined,
    };
    // Act
    const page = renderModelReport(data);
    // Assess
    expect(element(page, 'section', 'versions')).toContain('No version of air-passengers yet.');
    expect(element(page, 'section', 'versions')).toContain('incoming/air-passengers/');
    expect(element(page, 'section', 'drift')).toContain('No drift check yet');
    expect(element(page, 'section', 'runs')).toContain('No pipeline run yet.');
    expect(page).not.toMatch(/id="(timeline|metric-chart|holdout-chart|roc)"/);
  });

  it('keeps the rest of the page when the holdout predictions are malformed', () => {
    // Prepare
    const data = forecastReport();
    data.holdout = { ...data.holdout!, predicted: [1, 2] };
    // Act
    const page = renderModelReport(data);
    // Assess
    expect(element(page, 'section', 'holdout')).toContain(
      'cannot be charted: holdout has 3 actual values but 2 predictions.',
    );
    expect(page).toContain('id="runs-table"');
  });

  it('scores the champion column against the version on the same holdout', () => {
    // Prepare
    const data = forecastReport();
    data.versions = [
      version({ version: 1, stage: 'archived', metrics: { mape: 4 } }),
      version({
        version: 2,
        stage: 'production',
        metrics: { mape: 3 },
        championVersion: 1,
        championMetrics: { mape: 4.2 },
      }),
    ];
    // Act
    const rows = bodyRows(element(renderModelReport(data), 'table', 'versions-table'));
    // Assess: lower MAPE is better, so v2 beat its champion.
    expect(rows[0]).toMatch(/v1: 4\.2% <span class="better"/);
  });
});

describe('classifier charts', () => {
  const { holdout } = classifierReport();

  it('draws the ROC curve through the points scikit-learn finds, with its AUC', () => {
    // Act
    const svg = rocChart(holdout!, 'malignant').value;
    const path = /<path d="(M[^"]+)" fill="none" stroke="#0969da"/.exec(svg)?.[1] ?? '';
    // Assess
    // /usr/bin/python3 -c "from sklearn.metrics import roc_auc_score, roc_curve;
    //   y=[2,2,4,4,2,4]; p=[0.1,0.4,0.35,0.8,0.7,0.55]; print(roc_auc_score(y,p)); print(roc_curve(y,p,pos_label=4))"
    // → 0.6666666666666667; fpr [0, 0, 1/3, 1/3, 2/3, 2/3, 1], tpr [0, 1/3, 1/3, 2/3, 2/3, 1, 1]
    expect(svg).toContain('malignant = 4 (AUC 0.667)');
    expect(svg).toContain('AUC 0.6667.');
    expect(path.match(/[ML]/g)).toHaveLength(7);
  });

  it('draws one-vs-rest curves of a multi-class classifier with the macro AUC', () => {
    // Prepare
    const multi = {
      version: 3,
      actual: [0, 1, 2, 0, 1, 2],
      predicted: [0.7, 0.2, 0.1, 0.2, 0.6, 0.2, 0.1, 0.3, 0.6, 0.3, 0.4, 0.3, 0.5, 0.3, 0.2, 0.2, 0.2, 0.6],
      classes: [0, 1, 2],
    };
    // Act
    const svg = rocChart(multi, 'species').value;
    // Assess
    // /usr/bin/python3 -c "import numpy as np; from sklearn.metrics import roc_auc_score;
    //   y=[0,1,2,0,1,2]; P=np.array([[.7,.2,.1],[.2,.6,.2],[.1,.3,.6],[.3,.4,.3],[.5,.3,.2],[.2,.2,.6]]);
    //   print(roc_auc_score(y,P,multi_class='ovr',labels=[0,1,2]));
    //   [print(c, roc_auc_score([int(v==c) for v in y], P[:,c])) for c in range(3)]"
    // → 0.8958333333333334; per class 0.875, 0.8125, 1.0
    expect(svg).toContain('AUC 0.8958.');
    expect(svg).toContain('species = 0 (AUC 0.875)');
    expect(svg).toContain('species = 1 (AUC 0.813)');
    expect(svg).toContain('species = 2 (AUC 1)');
  });

  it('counts the confusion matrix as scikit-learn does, rows actual and columns predicted', () => {
    // Act
    const table = confusionTable(holdout!, 'malignant').value;
    const counts = [...table.matchAll(/<td style="[^"]*" title="[^"]*">(\d+)</g)].map((match) =>
      Number(match[1]),
    );
    // Assess
    // /usr/bin/python3 -c "from sklearn.metrics import confusion_matrix;
    //   print(confusion_matrix([2,2,4,4,2,4], [2,2,2,4,4,4], labels=[2,4]).tolist())"  → [[2, 1], [1, 2]]
    expect(counts).toEqual([2, 1, 1, 2]);
    expect(table).toContain('4 of 6 holdout rows right (accuracy 0.667)');
    expect(table).toContain('<th scope="col">predicted 4</th>');
  });

  it('throws a RangeError when the probabilities do not match rows × classes', () => {
    expect(() => rocChart({ ...holdout!, predicted: [0.5, 0.5] }, 'malignant')).toThrow(
      /6 rows and 2 classes, so 12 probabilities, but 2 predictions/,
    );
  });
});
