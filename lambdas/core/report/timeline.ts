/**
 * The versions timeline: every version a mark in the colour of its stage, in version order, with the
 * audit's changes of what serves drawn on it: promotions as arcs above the line, rollbacks as arcs below
 * it, a candidate's start as an arrow onto its mark, each with the reason as its tooltip.
 */
import { formatTime } from './format.ts';
import { html, type SafeHtml } from './html.ts';
import { COLORS } from './svg.ts';
import type { ReportAudit, ReportPointer, ReportVersion, VersionStage } from './types.ts';

/** The mark colour of each stage. */
export const STAGE_COLORS: Readonly<Record<VersionStage, string>> = {
  production: COLORS.green,
  staging: COLORS.blue,
  archived: COLORS.grey,
  rejected: COLORS.orange,
  rolled_back: COLORS.red,
  superseded: COLORS.grey,
  none: '#afb8c1',
};

/** Words for a stage (`rolled_back` → `rolled back`). */
export function stageLabel(stage: string): string {
  return stage.replaceAll('_', ' ');
}

/** The CSS class of a stage badge; unknown stages get a neutral one (the class never carries data). */
export function stageClass(stage: string): string {
  return Object.hasOwn(STAGE_COLORS, stage) ? `stage-${stage}` : 'stage-unknown';
}

function stageColor(stage: string): string {
  return Object.hasOwn(STAGE_COLORS, stage) ? STAGE_COLORS[stage as VersionStage] : COLORS.grey;
}

/** How an audit action is drawn: an arc between versions, or a marker on one version. */
type EventKind = 'promotion' | 'rollback' | 'candidate' | 'candidate-rollback' | 'rollback-skipped';

function eventKind(action: string): EventKind | undefined {
  switch (action) {
    case 'promote':
      return 'promotion';
    case 'rollback':
      return 'rollback';
    case 'candidate_start':
      return 'candidate';
    case 'candidate_rollback':
      return 'candidate-rollback';
    case 'rollback_skipped':
      return 'rollback-skipped';
    default:
      return undefined;
  }
}

const EVENT_COLORS: Record<EventKind, string> = {
  promotion: COLORS.green,
  rollback: COLORS.red,
  candidate: COLORS.purple,
  'candidate-rollback': COLORS.red,
  'rollback-skipped': COLORS.red,
};

/** Kinds drawn as arrows, each with its own arrowhead marker. */
const ARROW_KINDS = ['promotion', 'rollback', 'candidate'] as const;

const WIDTH = 1100;
const HEIGHT = 168;
const LINE_Y = 84;
const RADIUS = 14;

function auditTitle(event: ReportAudit): string {
  const versions =
    event.fromVersion !== undefined && event.toVersion !== undefined
      ? ` v${event.fromVersion} → v${event.toVersion}`
      : event.toVersion !== undefined
        ? ` → v${event.toVersion}`
        : event.fromVersion !== undefined
          ? ` v${event.fromVersion}`
          : '';
  return `${event.action.replaceAll('_', ' ')}${versions}, ${formatTime(event.at)} by ${event.actor}: ${event.reason}`;
}

/** One sentence for screen readers: the versions, their stages and what the audit recorded. */
function timelineSummary(versions: ReportVersion[], audit: ReportAudit[]): string {
  const count = (kind: EventKind) => audit.filter((event) => eventKind(event.action) === kind).length;
  const stages = versions.map((version) => `v${version.version} ${stageLabel(version.stage)}`).join(', ');
  const promotions = count('promotion');
  const rollbacks = count('rollback');
  return `Version timeline: ${stages}; ${promotions} promotion${promotions === 1 ? '' : 's'} and ${rollbacks} rollback${rollbacks === 1 ? '' : 's'} recorded.`;
}

/**
 * The timeline SVG (id `timeline`) and its legend. Versions are evenly spaced in version order (runs
 * often finish seconds apart, so a time axis would stack them); times are in each mark's tooltip.
 */
export function versionTimeline(
  versions: ReportVersion[],
  audit: ReportAudit[],
  pointers: { production?: ReportPointer; candidate?: ReportPointer },
): SafeHtml {
  const ordered = [...versions].sort((a, b) => a.version - b.version);
  const step = ordered.length > 1 ? Math.min(200, (WIDTH - 80) / (ordered.length - 1)) : 0;
  const first = (WIDTH - step * (ordered.length - 1)) / 2;
  const xOf = new Map(ordered.map((version, i) => [version.version, first + step * i]));

  const pairUses = new Map<string, number>();
  const events = audit.map((event) => {
    const kind = eventKind(event.action);
    if (!kind) return '';
    const to = event.toVersion === undefined ? undefined : xOf.get(event.toVersion);
    const from = event.fromVersion === undefined ? undefined : xOf.get(event.fromVersion);
    const color = EVENT_COLORS[kind];
    const title = html`<title>${auditTitle(event)}</title>`;
    if (kind === 'candidate-rollback' || kind === 'rollback-skipped') {
      if (from === undefined) return '';
      const symbol = kind === 'candidate-rollback' ? '✕' : '!';
      return html`<g class="event event-${kind}"><text x="${from}" y="${LINE_Y + RADIUS + 20}" text-anchor="middle" font-weight="700" style="fill:${color};font-size:14px">${symbol}</text>${title}</g>`;
    }
    if (to === undefined) return '';
    if (from === undefined || from === to) {
      // Entered production (or started baking) with no predecessor drawn: an arrow dropping onto the mark.
      return html`<g class="event event-${kind}"><path d="M${to} ${LINE_Y - RADIUS - 34}V${LINE_Y - RADIUS - 6}" stroke="${color}" stroke-width="2.2" fill="none" marker-end="url(#timeline-arrow-${kind})"/>${title}</g>`;
    }
    const below = kind === 'rollback';
    const key = `${Math.min(from, to)}-${Math.max(from, to)}-${below ? 'below' : 'above'}`;
    const uses = pairUses.get(key) ?? 0;
    pairUses.set(key, uses + 1);
    const sign = below ? 1 : -1;
    const startY = LINE_Y + sign * (RADIUS + 3);
    const lift = Math.min(56, 20 + 0.25 * Math.abs(to - from)) + 9 * uses;
    const middle = (from + to) / 2;
    const path = `M${from} ${startY}Q${middle} ${startY + sign * 2 * lift} ${to} ${startY}`;
    return html`<g class="event event-${kind}"><path d="${path}" stroke="${color}" stroke-width="2.2" fill="none"${below ? html` stroke-dasharray="6 4"` : ''} marker-end="url(#timeline-arrow-${kind})"/>${title}</g>`;
  });

  const marks = ordered.map((version) => {
    const x = xOf.get(version.version)!;
    const isProduction = pointers.production?.version === version.version;
    const isCandidate = pointers.candidate?.version === version.version;
    const ring = isProduction
      ? html`<circle cx="${x}" cy="${LINE_Y}" r="${RADIUS + 4}" fill="none" stroke="${COLORS.green}" stroke-width="2"/>`
      : isCandidate
        ? html`<circle cx="${x}" cy="${LINE_Y}" r="${RADIUS + 4}" fill="none" stroke="${COLORS.purple}" stroke-width="2" stroke-dasharray="4 3"/>`
        : '';
    const label = `v${version.version}`;
    return html`<g class="version-mark" data-version="${version.version}" data-stage="${version.stage}">${ring}<circle cx="${x}" cy="${LINE_Y}" r="${RADIUS}" fill="${stageColor(version.stage)}"/><text x="${x}" y="${LINE_Y + 4}" text-anchor="middle" font-weight="700" style="fill:#fff;font-size:${label.length > 3 ? 9 : 11}px">${label}</text><title>v${version.version}: ${stageLabel(version.stage)}${isProduction ? ' (serving)' : ''}${isCandidate ? ` (${pointers.candidate?.mode ?? 'candidate'})` : ''}, created ${formatTime(version.createdAt)}. ${version.reason}</title></g>`;
  });

  const markers = ARROW_KINDS.map(
    (kind) =>
      html`<marker id="timeline-arrow-${kind}" viewBox="0 0 10 10" refX="8" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0 0L10 5L0 10z" fill="${EVENT_COLORS[kind]}"/></marker>`,
  );
  const lastX = first + step * (ordered.length - 1);
  const stagesShown = [...new Set(ordered.map((version) => version.stage))];
  const kindsShown = new Set(audit.map((event) => eventKind(event.action)));
  // Rollback arcs and markers hang below the line; without any, the space below is cut.
  const below = ['rollback', 'candidate-rollback', 'rollback-skipped'].some((kind) =>
    kindsShown.has(kind as EventKind),
  );
  const height = below ? HEIGHT : LINE_Y + RADIUS + 14;
  return html`<svg id="timeline" class="chart" viewBox="0 0 ${WIDTH} ${height}" role="img" aria-label="${timelineSummary(ordered, audit)}"><title>${timelineSummary(ordered, audit)}</title><defs>${markers}</defs>
<line x1="${Math.max(20, first - 40)}" x2="${Math.min(WIDTH - 20, lastX + 40)}" y1="${LINE_Y}" y2="${LINE_Y}" stroke="${COLORS.grid}" stroke-width="4" stroke-linecap="round"/>
${events}${marks}</svg>
<ul class="swatches" aria-label="Timeline legend">${stagesShown.map((stage) => html`<li><span class="swatch" style="background:${stageColor(stage)}"></span>${stageLabel(stage)}</li>`)}<li><span class="swatch" style="background:#fff;border:2px solid ${COLORS.green}"></span>serving now</li>${kindsShown.has('promotion') ? html`<li><span class="swatch line" style="background:${COLORS.green}"></span>promotion (above)</li>` : ''}${kindsShown.has('rollback') ? html`<li><span class="swatch line dashed"></span>rollback (below)</li>` : ''}${kindsShown.has('candidate') ? html`<li><span class="swatch line" style="background:${COLORS.purple}"></span>candidate (canary or shadow) started</li>` : ''}${kindsShown.has('candidate-rollback') ? html`<li><span style="color:${COLORS.red};font-weight:700">✕</span>candidate rolled back</li>` : ''}${kindsShown.has('rollback-skipped') ? html`<li><span style="color:${COLORS.red};font-weight:700">!</span>rollback skipped</li>` : ''}</ul>`;
}
