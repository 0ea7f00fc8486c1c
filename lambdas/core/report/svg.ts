/**
 * Small server-side SVG charts: an x/y chart (lines, points, guide lines) and paired histogram
 * bars. Every chart is `role="img"` with an `aria-label` that states what it shows in words, so the
 * page needs no client script and screen readers get the gist without the picture.
 */
import { formatNumber } from './format.ts';
import { html, type SafeHtml } from './html.ts';

/** Colours of the report (GitHub's light palette: readable on white, distinct for common colour blindness). */
export const COLORS = {
  text: '#1f2328',
  muted: '#59636e',
  grid: '#e6eaef',
  axis: '#8c959f',
  blue: '#0969da',
  green: '#1a7f37',
  orange: '#bc4c00',
  red: '#cf222e',
  purple: '#8250df',
  grey: '#8c959f',
} as const;

/** A point of a series; `title` becomes its tooltip, `color` overrides the series colour. */
export interface ChartPoint {
  x: number;
  y: number;
  title?: string;
  color?: string;
}

export interface ChartSeries {
  name: string;
  color: string;
  points: ChartPoint[];
  /** `line` joins points in order, `points` only marks them. @default 'line' */
  kind?: 'line' | 'points';
  /** Marks each point with a dot (always on for `points`). @default false */
  markers?: boolean;
  dashed?: boolean;
  /** Dots drawn as rings instead of filled. */
  hollow?: boolean;
}

export interface AxisOptions {
  label: string;
  /** Fixed domain; by default the data range extended to nice tick values. */
  domain?: [number, number];
  /** Tick values with their labels; by default nice numbers over the domain. */
  ticks?: { value: number; label: string }[];
  format?: (value: number) => string;
}

export interface XYChartOptions {
  id: string;
  /** The chart's accessible name and text summary. */
  summary: string;
  series: ChartSeries[];
  x: AxisOptions;
  y: AxisOptions;
  /** Straight reference lines in data coordinates (e.g. the ROC chance diagonal). */
  guides?: { from: [number, number]; to: [number, number]; label?: string }[];
  width?: number;
  height?: number;
}

const MARGIN = { top: 34, right: 20, bottom: 46 };

/** A coordinate rounded to 0.1 px: enough for a crisp chart, and it keeps the markup small. */
function px(value: number): number {
  return Math.round(value * 10) / 10;
}

/**
 * A function mapping `domain` linearly onto `range`.
 * @throws {RangeError} when the domain is empty or not finite.
 */
export function linearScale(domain: [number, number], range: [number, number]): (value: number) => number {
  const [d0, d1] = domain;
  if (!Number.isFinite(d0) || !Number.isFinite(d1) || d0 === d1) {
    throw new RangeError(`linearScale: domain must be two distinct finite numbers, got [${d0}, ${d1}]`);
  }
  const [r0, r1] = range;
  return (value) => r0 + ((value - d0) / (d1 - d0)) * (r1 - r0);
}

/** 1, 2 or 5 times a power of ten, near `range / count` (Heckbert's "nice numbers" for graph labels). */
function niceStep(range: number, count: number): number {
  const rough = range / count;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const normalized = rough / magnitude;
  const nice = normalized < 1.5 ? 1 : normalized < 3 ? 2 : normalized < 7 ? 5 : 10;
  return nice * magnitude;
}

/**
 * About `count` round tick values covering [min, max] (a constant range is widened around its value).
 * @throws {RangeError} when min or max is not finite, or min > max.
 * @example niceTicks(0.13, 0.91, 4) // [0, 0.2, 0.4, 0.6, 0.8, 1]
 */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max) || min > max) {
    throw new RangeError(`niceTicks: need finite min <= max, got ${min} and ${max}`);
  }
  // A range too narrow for floating point to step through (equal or a few ulps apart) is widened
  // around its value, as a constant would be.
  if (max - min <= 1e-9 * Math.max(Math.abs(min), Math.abs(max)) || max - min < 1e-300) {
    const pad = Math.abs(min) > 1e-12 ? Math.abs(min) * 0.1 : 1;
    min -= pad;
    max += pad;
  }
  const step = niceStep(max - min, count);
  // Division can round a tick just inside the data (or to -0 past a tiny negative), so step out once more.
  let first = Math.floor(min / step);
  if (first * step > min) first -= 1;
  let last = Math.ceil(max / step);
  if (last * step < max) last += 1;
  return Array.from({ length: last - first + 1 }, (_, i) => Number(((first + i) * step).toPrecision(12)));
}

/** The smallest and largest of `values` (a loop: spreading a large array overflows the call stack). */
function extent(values: readonly number[]): [number, number] {
  let low = Number.POSITIVE_INFINITY;
  let high = Number.NEGATIVE_INFINITY;
  for (const value of values) {
    if (value < low) low = value;
    if (value > high) high = value;
  }
  return [low, high];
}

function axisTicks(axis: AxisOptions, values: number[], count: number) {
  if (axis.ticks) {
    const positions = axis.ticks.map((tick) => tick.value);
    const [low, high] = extent([...positions, ...values]);
    const domain = axis.domain ?? [low, high];
    return { domain, ticks: axis.ticks };
  }
  const format = axis.format ?? ((value: number) => formatNumber(value));
  if (axis.domain) {
    const ticks = niceTicks(axis.domain[0], axis.domain[1], count).filter(
      (value) => value >= axis.domain![0] - 1e-9 && value <= axis.domain![1] + 1e-9,
    );
    return { domain: axis.domain, ticks: ticks.map((value) => ({ value, label: format(value) })) };
  }
  const ticks = niceTicks(...extent(values), count);
  return {
    domain: [ticks[0], ticks.at(-1)!] as [number, number],
    ticks: ticks.map((value) => ({ value, label: format(value) })),
  };
}

/** A domain that is never empty, so a single point still gets an axis. */
function widen([low, high]: [number, number]): [number, number] {
  if (low !== high) return [low, high];
  const pad = Math.abs(low) * 0.1 || 1;
  return [low - pad, high + pad];
}

function seriesPath(points: { x: number; y: number }[]): string {
  return points.map((point, i) => `${i === 0 ? 'M' : 'L'}${px(point.x)} ${px(point.y)}`).join('');
}

function legend(series: ChartSeries[], left: number): SafeHtml {
  let x = left;
  const items = series.map((entry) => {
    const item = html`<g transform="translate(${px(x)} 12)"><line x1="0" x2="18" y1="0" y2="0" stroke="${entry.color}" stroke-width="${entry.kind === 'points' ? 0 : 2.5}"${entry.dashed ? html` stroke-dasharray="5 3"` : ''}/><circle cx="9" cy="0" r="${entry.kind === 'points' || entry.markers ? 3.5 : 0}" fill="${entry.hollow ? '#fff' : entry.color}" stroke="${entry.color}" stroke-width="1.5"/><text x="24" y="4">${entry.name}</text></g>`;
    x += 34 + entry.name.length * 6.6;
    return item;
  });
  return html`<g class="legend">${items}</g>`;
}

/**
 * An x/y chart as an inline SVG element: axes with nice ticks, grid lines, a legend, a line or points
 * per series, each point's `title` as a tooltip.
 * @throws {RangeError} when no series has a point.
 */
export function xyChart(options: XYChartOptions): SafeHtml {
  const width = options.width ?? 1100;
  const height = options.height ?? 300;
  const points = options.series.flatMap((series) => series.points);
  if (points.length === 0) throw new RangeError(`xyChart ${options.id}: no series has a point`);
  const guideXs = (options.guides ?? []).flatMap((guide) => [guide.from[0], guide.to[0]]);
  const guideYs = (options.guides ?? []).flatMap((guide) => [guide.from[1], guide.to[1]]);
  const xAxis = axisTicks(
    options.x,
    [...points.map((p) => p.x), ...guideXs],
    Math.max(2, Math.round(width / 110)),
  );
  const yAxis = axisTicks(options.y, [...points.map((p) => p.y), ...guideYs], 5);
  // Room on the left for the widest tick label and the rotated axis label beside it.
  const widestTick = Math.max(...yAxis.ticks.map((tick) => tick.label.length));
  const plot = {
    left: Math.max(56, 36 + 7 * widestTick),
    right: width - MARGIN.right,
    top: MARGIN.top,
    bottom: height - MARGIN.bottom,
  };
  const sx = linearScale(widen(xAxis.domain), [plot.left, plot.right]);
  const sy = linearScale(widen(yAxis.domain), [plot.bottom, plot.top]);

  const yGrid = yAxis.ticks.map(
    (tick) =>
      html`<line class="grid" x1="${plot.left}" x2="${plot.right}" y1="${px(sy(tick.value))}" y2="${px(sy(tick.value))}"/><text class="tick" x="${plot.left - 8}" y="${px(sy(tick.value) + 4)}" text-anchor="end">${tick.label}</text>`,
  );
  // Labels at the ends of the axis lean inwards so they are not clipped by the edge of the chart.
  const anchorOf = (x: number) => (x - plot.left < 24 ? 'start' : plot.right - x < 24 ? 'end' : 'middle');
  const xTicks = xAxis.ticks.map((tick) => {
    const x = px(sx(tick.value));
    const anchor = anchorOf(x);
    const labelX = anchor === 'start' ? x - 4 : anchor === 'end' ? x + 4 : x;
    return html`<line class="axis" x1="${x}" x2="${x}" y1="${plot.bottom}" y2="${plot.bottom + 5}"/><text class="tick" x="${labelX}" y="${plot.bottom + 19}" text-anchor="${anchor}">${tick.label}</text>`;
  });
  const guides = (options.guides ?? []).map((guide) => {
    const [x1, y1, x2, y2] = [sx(guide.from[0]), sy(guide.from[1]), sx(guide.to[0]), sy(guide.to[1])];
    // The label sits below the line two thirds along it, clear of curves that hug the plot's corners.
    const label = guide.label
      ? html`<text class="tick" x="${px(x1 + (x2 - x1) * 0.66 + 8)}" y="${px(y1 + (y2 - y1) * 0.66 + 14)}">${guide.label}</text>`
      : '';
    return html`<line class="guide" x1="${px(x1)}" y1="${px(y1)}" x2="${px(x2)}" y2="${px(y2)}"/>${label}`;
  });
  const drawn = options.series.map((series) => {
    const kind = series.kind ?? 'line';
    const scaled = series.points.map((point) => ({ ...point, x: sx(point.x), y: sy(point.y) }));
    const path =
      kind === 'points'
        ? ''
        : html`<path d="${seriesPath(scaled)}" fill="none" stroke="${series.color}" stroke-width="2.2" stroke-linejoin="round"${series.dashed ? html` stroke-dasharray="6 4"` : ''}/>`;
    const dots =
      kind === 'points' || series.markers
        ? scaled.map(
            (point) =>
              html`<circle cx="${px(point.x)}" cy="${px(point.y)}" r="${kind === 'points' ? 4 : 4.5}" fill="${series.hollow ? '#fff' : (point.color ?? series.color)}" stroke="${point.color ?? series.color}" stroke-width="${series.hollow ? 2 : 1}">${point.title ? html`<title>${point.title}</title>` : ''}</circle>`,
          )
        : '';
    return html`<g class="series">${path}${dots}</g>`;
  });
  return html`<svg id="${options.id}" class="chart" viewBox="0 0 ${width} ${height}" role="img" aria-label="${options.summary}" preserveAspectRatio="xMidYMid meet"><title>${options.summary}</title>
${legend(options.series, plot.left)}
<g class="axes">${yGrid}<line class="axis" x1="${plot.left}" x2="${plot.right}" y1="${plot.bottom}" y2="${plot.bottom}"/>${xTicks}
<text class="axis-label" x="${px((plot.left + plot.right) / 2)}" y="${height - 8}" text-anchor="middle">${options.x.label}</text>
<text class="axis-label" transform="translate(16 ${px((plot.top + plot.bottom) / 2)}) rotate(-90)" text-anchor="middle">${options.y.label}</text></g>
${guides}${drawn}</svg>`;
}

export interface HistogramPairOptions {
  /** Bin or category names, one per bar pair. */
  bins: string[];
  reference: number[];
  current: number[];
  summary: string;
  width?: number;
  height?: number;
}

/**
 * Reference and current shares side by side per bin, as a small inline SVG for a table cell.
 * @throws {RangeError} when the three arrays differ in length or are empty.
 */
export function histogramPair(options: HistogramPairOptions): SafeHtml {
  const { bins, reference, current } = options;
  if (bins.length === 0 || reference.length !== bins.length || current.length !== bins.length) {
    throw new RangeError(
      `histogramPair: need as many reference (${reference.length}) and current (${current.length}) shares as bins (${bins.length}), at least one`,
    );
  }
  const width = options.width ?? 168;
  const height = options.height ?? 46;
  const top = 3;
  const bottom = height - 3;
  const peak = Math.max(...reference, ...current, 1e-9);
  const slot = width / bins.length;
  const bar = Math.max(1, Math.min(9, (slot - 2) / 2));
  const percent = (share: number) => `${formatNumber(share * 100, 3)}%`;
  const pairs = bins.map((bin, i) => {
    const center = slot * i + slot / 2;
    const tall = (share: number) => px(((bottom - top) * share) / peak);
    const rh = tall(reference[i]);
    const ch = tall(current[i]);
    return html`<g><title>${bin}: reference ${percent(reference[i])}, current ${percent(current[i])}</title><rect x="${px(center - bar)}" y="${px(bottom - rh)}" width="${px(bar)}" height="${rh}" fill="${COLORS.grey}"/><rect x="${px(center)}" y="${px(bottom - ch)}" width="${px(bar)}" height="${ch}" fill="${COLORS.blue}"/></g>`;
  });
  return html`<svg class="histogram" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${options.summary}"><title>${options.summary}</title><line x1="0" x2="${width}" y1="${bottom}" y2="${bottom}" stroke="${COLORS.axis}"/>${pairs}</svg>`;
}
