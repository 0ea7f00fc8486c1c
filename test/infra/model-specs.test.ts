import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadModelSpecs, ModelSpecFileError } from '../../infra/model-specs.ts';
import { FIXTURE_SPECS_DIR } from './support.ts';

describe('loadModelSpecs', () => {
  const dirs: string[] = [];
  const specsDir = (files: Record<string, string>): string => {
    const dir = mkdtempSync(join(tmpdir(), 'driftline-specs-'));
    dirs.push(dir);
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    return dir;
  };
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('reads every spec in file-name order with the monitoring defaults applied', () => {
    // Act
    const specs = loadModelSpecs(FIXTURE_SPECS_DIR);
    // Assess
    expect(specs.map((spec) => [spec.name, spec.schedule])).toEqual([
      ['air-passengers', 'rate(7 days)'],
      ['breast-cancer', undefined],
    ]);
    expect(specs[1].monitoring).toMatchObject({
      latencyP99Ms: 1000,
      errorRate: 0.05,
      periodSeconds: 60,
      evaluationPeriods: 5,
      datapointsToAlarm: 3,
    });
  });

  it('treats a missing folder as no models yet', () => {
    // Act
    const specs = loadModelSpecs(join(tmpdir(), 'driftline-no-such-folder'));
    // Assess
    expect(specs).toEqual([]);
  });

  it('ignores files that are not JSON', () => {
    // Prepare
    const dir = specsDir({ 'README.md': '# specs' });
    // Act
    const specs = loadModelSpecs(dir);
    // Assess
    expect(specs).toEqual([]);
  });

  it('names the file of a spec that is not JSON', () => {
    // Prepare
    const dir = specsDir({ 'broken.json': '{ "name": ' });
    // Act
    const load = () => loadModelSpecs(dir);
    // Assess
    expect(load).toThrow(ModelSpecFileError);
    expect(load).toThrow(/broken\.json: not valid JSON/);
  });

  it('names the file and the field of a spec that fails the spec rules', () => {
    // Prepare
    const spec = { name: 'air', task: 'forecast', target: 'value', time: 'month', schedule: 'weekly' };
    const dir = specsDir({ 'air.json': JSON.stringify(spec) });
    // Act
    const load = () => loadModelSpecs(dir);
    // Assess
    expect(load).toThrow(/air\.json:\nspec\.schedule: must be an EventBridge schedule expression/);
  });

  it('refuses two files that define the same model', () => {
    // Prepare
    const spec = JSON.stringify({ name: 'churn', task: 'classification', target: 'churned' });
    const dir = specsDir({ 'a.json': spec, 'b.json': spec });
    // Act
    const load = () => loadModelSpecs(dir);
    // Assess
    expect(load).toThrow('b.json and a.json both define model "churn"');
  });
});
