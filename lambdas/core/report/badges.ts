/**
 * The small coloured labels of the pages: a version's stage, a candidate's mode, a run's outcome and a
 * drift verdict. Tones map to fixed CSS classes; the words come from the data and are escaped.
 */
import { html, type SafeHtml } from './html.ts';
import { stageClass, stageLabel } from './timeline.ts';
import type { ReportPointer, ReportRun } from './types.ts';

/** A version's stage. */
export function stageBadge(stage: string): SafeHtml {
  return html`<span class="stage ${stageClass(stage)}">${stageLabel(stage)}</span>`;
}

/** The pill class and words for a run's state. */
function runState(run: ReportRun): { tone: string; text: string } {
  if (run.status === 'running') return { tone: 'warn', text: `running · ${run.step ?? 'starting'}` };
  if (run.status === 'failed' || run.outcome === 'failed') return { tone: 'bad', text: 'failed' };
  if (run.status === 'interrupted') return { tone: 'warn', text: 'interrupted' };
  switch (run.outcome) {
    case 'promoted':
      return { tone: 'good', text: 'promoted' };
    case 'canary':
    case 'shadow':
      return { tone: 'info', text: `${run.outcome} started` };
    case 'kept':
      return { tone: 'neutral', text: 'kept champion' };
    case 'no_drift':
      return { tone: 'info', text: 'no drift' };
    default:
      return { tone: 'neutral', text: run.outcome ?? run.status };
  }
}

/** A run's state: running (with its step), failed, or how it ended. */
export function runPill(run: ReportRun): SafeHtml {
  const state = runState(run);
  return html`<span class="pill pill-${state.tone}">${state.text}</span>`;
}

/** A drift verdict: drift, no drift or insufficient data. */
export function verdictPill(verdict: string): SafeHtml {
  const tone = verdict === 'drift' ? 'bad' : verdict === 'no_drift' ? 'good' : 'neutral';
  return html`<span class="pill pill-${tone}">${verdict.replaceAll('_', ' ')}</span>`;
}

/** A candidate's mode: canary or shadow. */
export function candidateBadge(candidate: ReportPointer): SafeHtml {
  return html`<span class="stage stage-canary">${candidate.mode ?? 'candidate'}</span>`;
}
