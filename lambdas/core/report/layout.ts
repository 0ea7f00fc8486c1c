/**
 * The page shell every driftline page shares: one self-contained HTML document with its CSS inline
 * (the content security policy allows no other source), a top bar and a footer.
 */
import { html, raw, type SafeHtml } from './html.ts';

/**
 * Links between pages are relative, so the pages work under any prefix the API adds (API Gateway's
 * `/prod` stage, a custom domain's base path, or none locally). `root` is the way from the page to the
 * API root: `''` for `/`, `'../../'` for `/models/{name}/report`.
 */
export interface PageOptions {
  title: string;
  root: string;
  body: SafeHtml;
  /** Which top bar link is the current page. */
  current?: 'models' | 'docs';
  generatedAt?: string;
  /** Extra elements for `<head>` (the docs page's stylesheet and scripts). */
  head?: SafeHtml;
}

const CSS = raw(`
:root { color-scheme: light; --fg: #1f2328; --muted: #59636e; --border: #d1d9e0; --soft: #eff2f5;
  --bg: #f6f8fa; --card: #ffffff; --accent: #0969da; --green: #1a7f37; --red: #cf222e; --orange: #bc4c00;
  --purple: #8250df; --grey: #6e7781; }
* { box-sizing: border-box; }
html { background: var(--bg); }
body { margin: 0; color: var(--fg); background: var(--bg);
  font: 14px/1.5 system-ui, -apple-system, "Segoe UI", "Liberation Sans", Lato, Roboto, Arial, sans-serif; }
a { color: var(--accent); text-decoration: none; }
a:hover, a:focus-visible { text-decoration: underline; }
:focus-visible { outline: 2px solid var(--accent); outline-offset: 2px; }
code, .mono { font-family: ui-monospace, "DejaVu Sans Mono", "Liberation Mono", Menlo, monospace; font-size: 12.5px; }
.wrap { max-width: 1200px; margin: 0 auto; padding: 0 28px; }
.topbar { background: #ffffff; border-bottom: 1px solid var(--border); }
.topbar .wrap { display: flex; align-items: center; gap: 28px; height: 54px; }
.brand { font-weight: 700; font-size: 17px; color: var(--fg); letter-spacing: -0.01em; display: flex; align-items: center; gap: 8px; }
.brand svg { display: block; }
.topbar nav a { color: var(--muted); font-weight: 500; padding: 16px 2px; border-bottom: 2px solid transparent; }
.topbar nav a[aria-current="page"] { color: var(--fg); border-bottom-color: var(--orange); }
.topbar nav { display: flex; gap: 22px; }
main.wrap { padding-top: 26px; padding-bottom: 40px; }
h1 { font-size: 26px; line-height: 1.25; margin: 0 0 6px; letter-spacing: -0.01em; }
h2 { font-size: 18px; margin: 0 0 4px; }
h3 { font-size: 15px; margin: 18px 0 6px; }
p { margin: 6px 0; }
.lead { color: var(--muted); max-width: 880px; margin: 4px 0 0; }
.meta { color: var(--muted); font-size: 13px; }
.page-head { margin-bottom: 18px; }
.page-head .tags { display: flex; flex-wrap: wrap; gap: 8px; margin: 10px 0 0; }
.tag { display: inline-block; border: 1px solid var(--border); background: #fff; border-radius: 999px; padding: 1px 10px; font-size: 12.5px; color: var(--muted); }
.tag strong { color: var(--fg); font-weight: 600; }
.card { background: var(--card); border: 1px solid var(--border); border-radius: 10px; padding: 18px 22px 20px; margin: 0 0 20px; }
.card > header { display: flex; flex-wrap: wrap; align-items: baseline; justify-content: space-between; gap: 4px 16px; margin-bottom: 10px; }
.card > header p { margin: 0; }
.kpis { display: grid; grid-template-columns: repeat(auto-fit, minmax(200px, 1fr)); gap: 14px; margin: 0 0 20px; }
.kpi { background: var(--card); border: 1px solid var(--border); border-radius: 10px; padding: 12px 16px; min-width: 0; }
.kpi .label { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: 0.04em; font-weight: 600; }
.kpi .value { font-size: 22px; font-weight: 650; margin: 2px 0; display: flex; align-items: center; gap: 8px; flex-wrap: wrap; }
.kpi .detail { color: var(--muted); font-size: 12.5px; overflow-wrap: anywhere; }
.scroll { overflow-x: auto; }
.swatches + .scroll { margin-top: 14px; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
caption { text-align: left; color: var(--muted); font-size: 13px; padding: 0 0 8px; caption-side: top; }
th, td { padding: 7px 10px; border-bottom: 1px solid var(--soft); text-align: left; vertical-align: top; }
thead th { font-size: 12px; text-transform: uppercase; letter-spacing: 0.03em; color: var(--muted); font-weight: 600; border-bottom: 1px solid var(--border); white-space: nowrap; }
tbody tr:hover { background: #f8fafc; }
td.num, th.num { text-align: right; white-space: nowrap; }
td.nowrap { white-space: nowrap; }
td.reason { min-width: 260px; max-width: 420px; color: var(--fg); }
td.params { min-width: 200px; max-width: 300px; color: var(--muted); font-size: 12px; line-height: 1.45; }
th .meta { font-weight: 400; margin-top: 2px; }
tr.is-production { background: #f0fff4; }
tr.is-production:hover { background: #e6f9ec; }
.stage, .pill { display: inline-block; border-radius: 999px; padding: 0 9px; font-size: 12px; font-weight: 600; line-height: 20px; white-space: nowrap; border: 1px solid transparent; }
.stage-production { background: #dafbe1; color: #116329; border-color: #aceebb; }
.stage-staging { background: #ddf4ff; color: #0550ae; border-color: #b6e3ff; }
.stage-archived { background: #eff2f5; color: #59636e; border-color: #d1d9e0; }
.stage-rejected { background: #fff1e5; color: #953800; border-color: #ffd8b5; }
.stage-rolled_back { background: #ffebe9; color: #a40e26; border-color: #ffcecb; }
.stage-none, .stage-unknown { background: #f6f8fa; color: #59636e; border-color: #d1d9e0; }
.stage-canary { background: #fbefff; color: #6639ba; border-color: #ecd8ff; }
.pill-good { background: #dafbe1; color: #116329; }
.pill-bad { background: #ffebe9; color: #a40e26; }
.pill-warn { background: #fff8c5; color: #7d4e00; }
.pill-info { background: #ddf4ff; color: #0550ae; }
.pill-neutral { background: #eff2f5; color: #59636e; }
.sev-high { color: #a40e26; font-weight: 600; }
.sev-medium { color: #7d4e00; font-weight: 600; }
.sev-low { color: var(--muted); }
.better { color: var(--green); }
.worse { color: var(--red); }
svg.chart { width: 100%; height: auto; display: block; max-width: 100%; }
svg text { font-family: system-ui, -apple-system, "Segoe UI", "Liberation Sans", Lato, Arial, sans-serif; font-size: 12px; fill: #59636e; }
svg .legend text { fill: #1f2328; }
svg .grid { stroke: #e6eaef; stroke-width: 1; }
svg .axis { stroke: #8c959f; stroke-width: 1; }
svg .guide { stroke: #8c959f; stroke-width: 1.2; stroke-dasharray: 4 4; }
svg .axis-label { font-size: 12.5px; fill: #1f2328; font-weight: 500; }
svg.histogram { display: block; }
svg.histogram text { display: none; }
.chart-grid { display: grid; grid-template-columns: minmax(320px, 7fr) minmax(300px, 5fr); gap: 28px; align-items: start; }
@media (max-width: 820px) { .chart-grid { grid-template-columns: 1fr; } }
.swatches { display: flex; flex-wrap: wrap; gap: 6px 16px; margin: 8px 0 0; padding: 0; list-style: none; color: var(--muted); font-size: 12.5px; }
.swatches li { display: flex; align-items: center; gap: 6px; }
.swatch { width: 12px; height: 12px; border-radius: 50%; display: inline-block; }
.swatch.line { width: 18px; height: 3px; border-radius: 2px; }
.swatch.dashed { background: repeating-linear-gradient(90deg, var(--red) 0 5px, transparent 5px 8px) !important; }
.empty { color: var(--muted); padding: 18px; text-align: center; border: 1px dashed var(--border); border-radius: 8px; background: #fafbfc; }
.empty strong { color: var(--fg); }
.notice { border-left: 3px solid var(--accent); background: #f1f8ff; padding: 10px 14px; border-radius: 0 8px 8px 0; margin: 0 0 12px; }
.notice.warn { border-left-color: #d4a72c; background: #fff8c5; }
.notice.bad { border-left-color: var(--red); background: #ffebe9; }
table.confusion { width: auto; margin-top: 4px; }
table.confusion td { text-align: center; min-width: 96px; font-size: 16px; font-weight: 650; border: 2px solid #fff; padding: 14px 12px; color: var(--fg); }
table.confusion td .share { font-size: 12px; font-weight: 500; opacity: 0.8; }
table.confusion th { text-align: center; border-bottom: 0; }
table.confusion th[scope="row"] { text-align: right; vertical-align: middle; white-space: nowrap; }
table.confusion caption { max-width: 420px; }
#drift-table td, #drift-table th { vertical-align: middle; }
dl.metrics { display: flex; flex-wrap: wrap; gap: 8px 10px; margin: 0 0 14px; }
dl.metrics div { border: 1px solid var(--border); border-radius: 8px; padding: 4px 12px; background: #fafbfc; }
dl.metrics div.primary { border-color: #9ecbff; background: #f1f8ff; }
dl.metrics dt { color: var(--muted); font-size: 11.5px; text-transform: uppercase; letter-spacing: 0.04em; font-weight: 600; }
dl.metrics dd { margin: 0; font-size: 16px; font-weight: 650; font-variant-numeric: tabular-nums; }
footer { color: var(--muted); font-size: 12.5px; padding: 18px 0 30px; border-top: 1px solid var(--border); }
`);

/** The logo as an inline favicon, so browsers do not ask the API for `/favicon.ico`. */
const FAVICON = `data:image/svg+xml,${encodeURIComponent(
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 22 22"><rect width="22" height="22" rx="6" fill="#0969da"/><path d="M4 14.5c2.2 0 2.6-6 5-6s2.6 4.5 4.8 4.5S16.6 7 18 7" fill="none" stroke="#fff" stroke-width="2" stroke-linecap="round"/></svg>',
)}`;

const LOGO = raw(
  '<svg width="22" height="22" viewBox="0 0 22 22" aria-hidden="true"><rect width="22" height="22" rx="6" fill="#0969da"/><path d="M4 14.5c2.2 0 2.6-6 5-6s2.6 4.5 4.8 4.5S16.6 7 18 7" fill="none" stroke="#fff" stroke-width="2" stroke-linecap="round"/></svg>',
);

/** A complete HTML document around `body`. */
export function renderPage(options: PageOptions): string {
  const { root, current } = options;
  const here = (page: 'models' | 'docs') => (current === page ? html` aria-current="page"` : '');
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light">
<title>${options.title}</title>
<link rel="icon" href="${FAVICON}">
<style>${CSS}</style>
${options.head ?? ''}
</head>
<body>
<header class="topbar"><div class="wrap">
<a class="brand" href="${root || './'}">${LOGO}driftline</a>
<nav aria-label="Main"><a href="${root || './'}"${here('models')}>Models</a><a href="${root}docs"${here('docs')}>API docs</a><a href="${root}openapi.json">OpenAPI</a></nav>
</div></header>
<main class="wrap">
${options.body}
</main>
<footer><div class="wrap">driftline · retrain-and-serve on AWS${options.generatedAt ? html` · rendered ${options.generatedAt.slice(0, 19).replace('T', ' ')} UTC` : ''}</div></footer>
</body>
</html>
`.value;
}

/** A page for an error (404 for an unknown model, a generic 500), with a way back to the model list. */
export function renderErrorPage(options: {
  status: number;
  title: string;
  message: string;
  root: string;
}): string {
  return renderPage({
    title: `${options.title} · driftline`,
    root: options.root,
    body: html`<section class="card" id="error" aria-labelledby="error-title">
<p class="meta">Error ${options.status}</p>
<h1 id="error-title">${options.title}</h1>
<p>${options.message}</p>
<p><a href="${options.root || './'}">← All models</a></p>
</section>`,
  });
}
