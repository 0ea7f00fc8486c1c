/**
 * The pages as a user sees them: served by the local runtime on its own port (under the `/prod` stage
 * prefix, as API Gateway serves them, which also proves every link and asset URL is relative), with data
 * from real pipeline runs, loaded in headless Chromium. Screenshots go to `test-artifacts/` for a person
 * to look at.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INJECTION, type ServedPages, startServedPages } from './served.ts';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
const ARTIFACTS = new URL('../../test-artifacts/', import.meta.url).pathname;

/** Every path the OpenAPI document describes. */
const ROUTES = [
  '/health',
  '/models',
  '/models/{name}',
  '/models/{name}/runs',
  '/models/{name}/predict',
  '/models/{name}/feedback',
  '/models/{name}/report',
  '/',
  '/openapi.json',
  '/docs',
];

let server: ServedPages;
let browser: Browser;

/** A fresh page that records script errors, CSP refusals and every URL it requests. */
async function openPage(): Promise<{ page: Page; problems: string[]; requested: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
  const problems: string[] = [];
  const requested: string[] = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    // Failed responses are recorded with their URL below; the console repeats them without it.
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource'))
      problems.push(`console error: ${message.text()}`);
  });
  page.on('request', (request) => requested.push(request.url()));
  page.on('response', (response) => {
    if (response.status() >= 400) problems.push(`${response.status()} for ${response.url()}`);
  });
  return { page, problems, requested };
}

async function screenshot(page: Page, name: string) {
  await page.screenshot({ path: `${ARTIFACTS}${name}.png`, fullPage: true });
}

describe.skipIf(!hasChromium)(
  `pages in headless Chromium${hasChromium ? '' : ` (skipped: ${CHROMIUM} is not installed)`}`,
  () => {
    beforeAll(async () => {
      server = await startServedPages();
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-quic',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
        ],
      });
      mkdirSync(ARTIFACTS, { recursive: true });
    }, 600_000);

    afterAll(async () => {
      await browser?.close();
      await server?.close();
    });

    it('lists the models on the index and links each to its report', async () => {
      // Prepare
      const { page, problems, requested } = await openPage();
      // Act
      await page.goto(server.url);
      await screenshot(page, 'index');
      const rows = page.locator('#models-table tbody tr');
      const names = await rows.locator('th a').allTextContents();
      const serving = await rows.first().locator('td').nth(1).textContent();
      await page.getByRole('link', { name: 'air-passengers' }).click();
      await page.waitForURL('**/models/air-passengers/report');
      // Assess
      expect(await page.title()).toBe('air-passengers · model report · driftline');
      expect(names).toEqual(['air-passengers', 'breast-cancer', 'churn-empty']);
      expect(serving).toBe('v2');
      expect(problems).toEqual([]);
      expect(requested.every((url) => url.startsWith(server.url))).toBe(true);
      await page.close();
    });

    it('links to reports from the stage root without its trailing slash too', async () => {
      // Prepare
      const { page } = await openPage();
      // Act
      await page.goto(server.url.replace(/\/$/, ''));
      await page.getByRole('link', { name: 'breast-cancer' }).click();
      await page.waitForURL('**/models/breast-cancer/report');
      // Assess
      expect(await page.locator('h1').textContent()).toBe('breast-cancer');
      await page.close();
    });

    it('shows a forecast report: versions, timeline, metric chart, holdout forecast, drift and runs', async () => {
      // Prepare
      const { page, problems, requested } = await openPage();
      // Act
      await page.goto(`${server.url}models/air-passengers/report`);
      await screenshot(page, 'report-forecast');
      // Assess
      expect(await page.locator('h1').textContent()).toBe('air-passengers');
      expect(await page.locator('#kpi-production .value').textContent()).toContain('v2');
      expect(await page.locator('#versions-table tbody tr').count()).toBe(2);
      expect(await page.locator('#versions-table tbody tr.is-production th').textContent()).toBe('v2');
      expect(await page.locator('#timeline .version-mark').count()).toBe(2);
      // Three promotions (v1, v1→v2 twice) above the line and the rollback below it.
      expect(await page.locator('#timeline .event-promotion').count()).toBe(3);
      expect(await page.locator('#timeline .event-rollback').count()).toBe(1);
      expect(await page.locator('#metric-chart circle').count()).toBeGreaterThanOrEqual(2);
      expect(await page.locator('#holdout-chart').getAttribute('aria-label')).toMatch(
        /Holdout of 24 steps \(1959-01 to 1960-12\)/,
      );
      expect(await page.locator('#holdout-chart path').count()).toBe(2);
      expect(await page.locator('#roc').count()).toBe(0);
      // Forecast drift is tested on the one column the model learns from, the transformed target.
      expect(await page.locator('#drift-table tbody tr').count()).toBe(1);
      expect(await page.locator('#drift-table svg.histogram').count()).toBe(1);
      expect(await page.locator('#runs-table tbody tr').count()).toBe(5);
      // The failed drop's reason quotes the file's markup; it must stay text.
      expect(await page.locator('#runs-table').textContent()).toContain('InvalidDataError');
      expect(await page.evaluate(() => (globalThis as { pwned?: number }).pwned)).toBeUndefined();
      expect(problems).toEqual([]);
      expect(requested).toEqual([`${server.url}models/air-passengers/report`]);
      await page.close();
    });

    it('shows a classifier report with its ROC curve and confusion matrix', async () => {
      // Prepare
      const { page, problems } = await openPage();
      // Act
      await page.goto(`${server.url}models/breast-cancer/report`);
      await screenshot(page, 'report-classifier');
      await page.locator('#holdout').screenshot({ path: `${ARTIFACTS}report-classifier-holdout.png` });
      // Assess
      expect(await page.locator('#versions-table tbody tr').count()).toBe(2);
      // The holdout is 65 rows chosen by content hash; versions 1 and 2 separate them perfectly or nearly (AUC 0.99-1).
      const rocLabel = (await page.locator('#roc').getAttribute('aria-label')) ?? '';
      expect(rocLabel).toMatch(/^ROC curve of version [12] on \d+ holdout rows, .*: AUC [\d.]+\.$/);
      expect(Number(/AUC ([\d.]+?)\.?$/.exec(rocLabel)?.[1])).toBeGreaterThanOrEqual(0.95);
      expect(await page.locator('#roc path').count()).toBe(1);
      expect(await page.locator('#confusion tbody tr').count()).toBe(2);
      expect(await page.locator('#confusion tbody td').count()).toBe(4);
      expect(await page.locator('#holdout-chart').count()).toBe(0);
      expect(await page.locator('#drift-table tbody tr').count()).toBe(31);
      expect(await page.locator('#drift .notice .pill').textContent()).toBe('drift');
      expect(problems).toEqual([]);
      await page.close();
    });

    it('shows a model without versions as a friendly page, its markup as text', async () => {
      // Prepare
      const { page, problems } = await openPage();
      // Act
      await page.goto(`${server.url}models/churn-empty/report`);
      await screenshot(page, 'report-empty');
      // Assess
      expect(await page.locator('#versions .empty').textContent()).toContain(
        'No version of churn-empty yet.',
      );
      expect(await page.locator('.lead').textContent()).toBe(`Customer churn ${INJECTION}`);
      expect(await page.evaluate(() => (globalThis as { pwned?: number }).pwned)).toBeUndefined();
      expect(problems).toEqual([]);
      await page.close();
    });

    it('answers an unknown model with a 404 page linking back', async () => {
      // Prepare
      const { page } = await openPage();
      // Act
      const response = await page.goto(`${server.url}models/no-such-model/report`);
      await screenshot(page, 'not-found');
      await page.getByRole('link', { name: '← All models' }).click();
      // Assess
      expect(response?.status()).toBe(404);
      expect(page.url()).toBe(server.url);
      await page.close();
    });

    it('renders the API docs with Swagger UI from bundled files, every operation listed', async () => {
      // Prepare
      const { page, problems, requested } = await openPage();
      // Act
      await page.goto(`${server.url}docs`);
      await page.locator('.opblock').first().waitFor();
      const operations = await page.locator('.opblock-summary-path').allTextContents();
      await page.locator('#operations-serving-predict .opblock-summary').click();
      await page.locator('#operations-serving-predict .highlight-code').first().waitFor();
      await screenshot(page, 'docs');
      // Assess
      expect(await page.locator('.info .title').textContent()).toContain('driftline API');
      expect(operations.map((path) => path.replace(/\u200b/g, ''))).toEqual(expect.arrayContaining(ROUTES));
      expect(await page.locator('#operations-serving-predict').textContent()).toContain('instances');
      expect(problems).toEqual([]);
      expect(requested.every((url) => url.startsWith(server.url))).toBe(true);
      expect(requested).toContain(`${server.url}openapi.json`);
      await page.close();
    });

    it('sends "try it out" requests to the API under the same stage prefix, which answers them', async () => {
      // Prepare
      const { page, problems } = await openPage();
      await page.goto(`${server.url}docs`);
      const health = page.locator('#operations-registry-getHealth');
      // Act
      await health.locator('.opblock-summary').click();
      await health.locator('.try-out__btn').click();
      await health.locator('.execute').click();
      await health.locator('.request-url').waitFor();
      await health.locator('.live-responses-table tbody .response-col_status').first().waitFor();
      // Assess
      expect(await health.locator('.request-url').textContent()).toContain(`${server.url}health`);
      expect(
        await health.locator('.live-responses-table tbody .response-col_status').first().textContent(),
      ).toContain('200');
      expect(problems).toEqual([]);
      await page.close();
    });
  },
);
