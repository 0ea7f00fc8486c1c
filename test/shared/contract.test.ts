import { readFileSync } from 'node:fs';
import middy from '@middy/core';
import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { parseSpec } from '../../lambdas/core/spec.ts';
import {
  evaluateInputSchema,
  parseStepInput,
  runInputSchema,
  stepInput,
  type TrainInput,
  trainInputSchema,
} from '../../lambdas/shared/contract.ts';
import { StepInputError } from '../../lambdas/shared/errors.ts';

const run = {
  model: 'air-passengers',
  runId: 'exec-1',
  startedAt: '2026-01-01T00:00:00.000Z',
  bucket: 'data',
  trigger: 'drop',
  drop: { bucket: 'data', key: 'incoming/air-passengers/v2.csv', etag: 'e', size: 10 },
  spec: { key: 'runs/air-passengers/exec-1/spec.json', sha256: 'a'.repeat(64) },
} as const;

const features = {
  prefix: 'runs/air-passengers/exec-1/features/',
  variants: ['log'],
  metric: 'mape',
  direction: 'lower',
  rows: { train: 100, holdout: 24 },
  engine: 'fast',
  seed: 42,
} as const;

/** How many functions `parse` compiled from source text (`new Function`, which zod's JIT uses). */
function compiledBy(parse: () => void): number {
  const original = globalThis.Function;
  let compiled = 0;
  globalThis.Function = new Proxy(original, {
    construct(target, args) {
      compiled += 1;
      return Reflect.construct(target, args);
    },
  });
  try {
    parse();
  } finally {
    globalThis.Function = original;
  }
  return compiled;
}

/** What a payload becomes on its way through Step Functions: JSON text, parsed again. */
const overTheWire = (value: unknown): unknown => JSON.parse(JSON.stringify(value));

describe('the pipeline contract', () => {
  it('carries metric and engine names as their union types, and refuses any other name', () => {
    // Prepare
    const input = {
      mode: 'candidate',
      run,
      features,
      candidate: { id: 'c0', variant: 'log', params: {}, origin: 'spec' },
    };
    // Act
    const parsed: TrainInput = parseStepInput('train', trainInputSchema, overTheWire(input));
    const badMetric = () =>
      parseStepInput('train', trainInputSchema, { ...input, features: { ...features, metric: 'MAPE' } });
    const badEngine = () =>
      parseStepInput('train', trainInputSchema, { ...input, features: { ...features, engine: 'xgboost' } });
    // Assess
    expect(parsed.features.metric).toBe('mape');
    expect(parsed.features.engine).toBe('fast');
    expect(badMetric).toThrow(StepInputError);
    expect(badMetric).toThrow(
      /train received an input that does not fit the pipeline contract: features\.metric: /,
    );
    expect(badEngine).toThrow(/features\.engine: /);
  });

  it('refuses forest parameters out of range, as a spec would', () => {
    // Act
    const parse = (params: unknown) =>
      parseStepInput('train', trainInputSchema, {
        mode: 'shard',
        run,
        features,
        shard: { index: 0, variant: 'log', params, seed: 42, treeStart: 0, treeCount: 10 },
      });
    // Assess
    expect(parse({ nTrees: 40, maxFeatures: 'sqrt' })).toMatchObject({ shard: { params: { nTrees: 40 } } });
    expect(() => parse({ nTrees: 0 })).toThrow(/shard\.params\.nTrees: must be an integer from 1 to 2000/);
  });

  it('restores the NaN score of a candidate that could not be scored after JSON turned it into null', () => {
    // Prepare
    const trial = {
      id: 'c1',
      variant: 'log',
      params: {},
      origin: 'random',
      score: Number.NaN,
      metrics: { mape: Number.NaN },
      seconds: 1,
    };
    const input = {
      run,
      merge: {
        datasetKey: 'datasets/air-passengers/exec-1.csv',
        sha256: 's',
        rows: 124,
        drops: { key: 'datasets/air-passengers/exec-1.drops.json', count: 1 },
        heldThrough: 0,
        inputs: 2,
        overlapping: 0,
        duplicatesRemoved: 0,
        history: { window: { months: 1200 }, rowsMerged: 124, outOfWindow: 0, totalDrops: 2 },
      },
      features,
      selection: {
        best: trial,
        shards: [{ index: 0, variant: 'log', params: {}, seed: 42, treeStart: 0, treeCount: 100 }],
        trialsKey: 'runs/air-passengers/exec-1/trials.json',
      },
      shards: [{ index: 0, key: 'runs/air-passengers/exec-1/shards/0.bin', trees: 100, seconds: 2 }],
    };
    // Act
    const wire = overTheWire(input) as { selection: { best: { score: unknown } } };
    const parsed = parseStepInput('evaluate', evaluateInputSchema, wire);
    // Assess
    expect(wire.selection.best.score).toBeNull();
    expect(parsed.selection.best.score).toBeNaN();
    expect(parsed.selection.best.metrics.mape).toBeNaN();
  });

  it('names the step, the first problems and what to do, in a bounded message', () => {
    // Act
    const error = (() => {
      try {
        parseStepInput('merge', runInputSchema, { run: { model: 'm', columns: 'x'.repeat(100_000) } });
      } catch (caught) {
        return caught as Error;
      }
    })();
    // Assess
    expect(error).toBeInstanceOf(StepInputError);
    expect(error?.name).toBe('StepInputError');
    expect(error?.message).toMatch(
      /^merge received an input that does not fit the pipeline contract: run\.runId: /,
    );
    expect(error?.message).toMatch(/\(and \d+ more\)/);
    expect(error?.message).toMatch(/deploy both again$/);
    expect(error?.message.length).toBeLessThan(1_000);
  });

  it("parses a step's input and the run's spec without compiling zod's JIT fast path (parsed once per invocation)", () => {
    // Prepare: schemas no test has parsed yet, so any fast path would be compiled now.
    const fresh = () => z.object({ run: z.object({ model: z.string(), runId: z.string() }) });
    const spec = JSON.parse(readFileSync('data/specs/air-passengers.json', 'utf8'));
    // Act
    const jit = compiledBy(() => fresh().parse({ run }));
    const step = compiledBy(() => parseStepInput('merge', fresh(), { run }));
    const specParse = compiledBy(() => parseSpec(spec));
    // Assess: the counter sees zod's JIT on a plain parse, and no compilation on the one-shot ones.
    expect(jit).toBeGreaterThan(0);
    expect(step).toBe(0);
    expect(specParse).toBe(0);
  });

  it('parses the event in a middy before middleware, so the handler sees the parsed input', async () => {
    // Prepare
    const seen: unknown[] = [];
    const handler = middy(async (input: { run: typeof run }) => {
      seen.push(input);
      return input.run.model;
    }).use(stepInput('drift', runInputSchema));
    // Act
    const result = await handler({ run: { ...run, extra: 'dropped' } } as never, {} as never);
    const refused = await handler({ run: { ...run, trigger: 'cron' } } as never, {} as never).catch(
      (caught: Error) => caught,
    );
    // Assess
    expect(result).toBe('air-passengers');
    expect(seen).toEqual([{ run }]);
    expect(refused).toBeInstanceOf(StepInputError);
    expect(seen).toHaveLength(1);
  });

  it('is the one place that names metric and forest parameter types for the pipeline handlers', () => {
    // The handlers receive typed values from the contract: none casts a name or parameters back.
    const handlers = ['train', 'select', 'evaluate', 'register', 'featurize'].map((name) =>
      readFileSync(new URL(`../../lambdas/${name}/handler.ts`, import.meta.url), 'utf8'),
    );
    for (const source of handlers) {
      expect(source).not.toMatch(/ as (MetricName|ForestParams|EngineName)\b/);
      expect(source).not.toMatch(/from '\.\.\/(evaluate|merge)\/handler\.ts'/);
    }
  });
});
