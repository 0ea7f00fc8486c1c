/** A minimal registry version record for tests that exercise stages and pointers, not model content. */
import type { ModelVersion, Stage } from '../../lambdas/shared/registry.ts';

export function versionRecord(
  model: string,
  n: number,
  stage: Stage,
  createdAt = new Date().toISOString(),
): ModelVersion {
  return {
    model,
    version: n,
    stage,
    runId: `run-${n}`,
    createdAt,
    reason: 'test',
    metric: 'mape',
    metrics: { mape: 3 },
    params: {},
    engine: 'fast',
    seed: 42,
    codeVersion: 'test',
    artifact: { key: `models/${model}/run-${n}/model.bin`, sha256: 'x', bytes: 1 },
    featurizer: {},
    lineage: {
      drops: { key: 'm', count: 0 },
      dataset: { key: 'd', sha256: 's', rows: 1 },
      trainRows: 1,
      holdoutRows: 1,
    },
  };
}
