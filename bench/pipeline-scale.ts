/**
 * `npm run bench:pipeline-scale`: regression drops of 20 columns through the whole local pipeline, as
 * `npm start` runs it (the synthesized stack's functions in their memory-bounded containers, the real ASL),
 * from upload to promoted or rejected ({@link SPEC} says how the model is trained). First, a drop for a model
 * whose `validation.maxBytes` it exceeds must fail at once, naming the limit. A first drop of 20k rows trains version 1; then a drop of N rows
 * with 5 shifted columns goes through validate → drift → merge → featurize → search → fit → evaluate →
 * register. Per step: its wall time (from the execution's history) and its function's peak memory
 * (Lambda's `Max Memory Used`, from the runtime's `REPORT` lines) against the function's `MemorySize`,
 * and the peak over the step's typed data (N × 20 × 8 bytes, the reference every step reads).
 *
 * One run per size: at 1M rows a run takes many minutes on a shared 2-core machine, so this is not a
 * mean over seeds; read the load average it prints with the times.
 *
 *   npm run bench:pipeline-scale -- 100000 540000 1000000
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { waitForRun } from '../bin/commands/remote.ts';
import { resolveTarget } from '../bin/target.ts';
import { formatDuration, type LogSink } from '../local/log.ts';
import { startRuntime } from '../local/runtime.ts';
import { COLUMNS, writeDrop } from './drops.ts';

const MB = 2 ** 20;
const sizes = process.argv
  .slice(2)
  .map(Number)
  .filter((n) => n > 0);
if (sizes.length === 0) sizes.push(100_000);
const FIRST_ROWS = 20_000;
/** The shift of the drop's first 5 columns: one standard deviation. */
const SHIFT = 10;
const MODEL = 'scale';
/** A model whose drops may be at most 1 MiB: the first drop is refused by name, unread. */
const LIMITED = 'scale-limited';
/**
 * The model: the drop shifts 5 of its 20 columns, so drift is called at a share of 0.2 (the default is
 * half the columns). Trees are bounded to 255 leaves and the search to 4 trials, so a run measures the
 * data path at a training cost a shared 2-core machine finishes in minutes.
 */
const SPEC = {
  name: MODEL,
  task: 'regression',
  target: 'y',
  drift: { share: 0.2 },
  hyperparameters: { maxLeaves: 255 },
  search: { trials: 4 },
};

/** The pipeline's Task states, the function each invokes and the name the results table uses. */
const STEPS: Record<string, { fn: string; step: string }> = {
  Validate: { fn: 'validate', step: 'validate' },
  DetectDrift: { fn: 'drift', step: 'drift' },
  Merge: { fn: 'merge', step: 'merge' },
  Featurize: { fn: 'featurize', step: 'featurize' },
  SearchHyperparameters: { fn: 'train', step: 'search' },
  SelectBest: { fn: 'select', step: 'select' },
  FitFinalModel: { fn: 'train', step: 'fit' },
  Evaluate: { fn: 'evaluate', step: 'evaluate' },
  RegisterAndPromote: { fn: 'register', step: 'register' },
  RegisterAndKeepChampion: { fn: 'register', step: 'register' },
};

interface StepFigures {
  ms: number;
  peakMb: number;
  memorySizeMb: number;
}

/**
 * A log sink that attributes every `REPORT` line to the top-level state running when it was logged (the
 * pipeline runs one drop at a time, so the open state is the one invoking).
 */
function recorder(echo: boolean): LogSink & { steps: Map<string, StepFigures>; reset(): void } {
  const steps = new Map<string, StepFigures>();
  let open: string | undefined;
  return {
    steps,
    reset() {
      steps.clear();
      open = undefined;
    },
    line(source, text) {
      const entered = /^→ (\w+)$/.exec(text);
      if (source.startsWith('pipeline') && entered && STEPS[entered[1]]) open = entered[1];
      const report = /^REPORT .* Duration: (\d+) ms Memory Size: (\d+) MB Max Memory Used: (\d+) MB/.exec(
        text,
      );
      if (report && open && STEPS[open].fn === source) {
        const name = STEPS[open].step;
        const figures = steps.get(name) ?? { ms: 0, peakMb: 0, memorySizeMb: Number(report[2]) };
        figures.peakMb = Math.max(figures.peakMb, Number(report[3]));
        steps.set(name, figures);
      }
      const exited = /^✓ (\w+) /.exec(text);
      if (source.startsWith('pipeline') && exited && STEPS[exited[1]]) open = undefined;
      // REPORT lines too, so a run stopped before its table still shows each step's peak memory.
      if (echo && (source.startsWith('pipeline') || /^REPORT|OutOfMemory|ERROR/.test(text)))
        console.log(`[${source}] ${text}`);
    },
  };
}

/** Wall time per step from the execution history (Map states: entry to exit of the whole Map). */
function stateTimes(history: readonly unknown[]): Map<string, number> {
  const times = new Map<string, number>();
  const entered = new Map<string, number>();
  for (const event of history as {
    type: string;
    state?: { name: string };
    index?: number;
    timestamp: number;
  }[]) {
    if (!event.state || event.index !== undefined || !STEPS[event.state.name]) continue;
    const step = STEPS[event.state.name].step;
    if (event.type === 'StateEntered') entered.set(step, event.timestamp);
    if (event.type === 'StateExited' && entered.has(step))
      times.set(step, event.timestamp - (entered.get(step) ?? event.timestamp));
  }
  return times;
}

const log = recorder(true);
const home = mkdtempSync(join(tmpdir(), 'driftline-scale-'));
const runtime = await startRuntime({ home, port: 0, schedules: false, log });
try {
  const target = await resolveTarget({ home });
  await target.registry.putSpec(MODEL, SPEC);
  const upload = async (key: string, path: string, model = MODEL) => {
    await target.s3.send(
      new PutObjectCommand({ Bucket: target.outputs.BucketName, Key: key, Body: readFileSync(path) }),
    );
    const run = await waitForRun(target, model, key, { quiet: true, timeoutMs: 90 * 60_000 });
    const started = runtime.executions.list().find((e) => JSON.stringify(e.input).includes(key));
    // The run record is final before its last state exits (register writes it): wait for the execution
    // itself, so its last step's time is in the history and the runtime is not stopped under it.
    const execution = started && (await runtime.executions.wait(started.name, 5 * 60_000));
    return { run, execution };
  };

  const first = join(home, 'first.csv');
  await writeDrop(first, FIRST_ROWS, 1);
  // A drop over its model's size limit must fail at once, naming the limit, without being read.
  await target.registry.putSpec(LIMITED, { ...SPEC, name: LIMITED, validation: { maxBytes: 2 ** 20 } });
  const refusedAt = performance.now();
  const { run: refused } = await upload(`incoming/${LIMITED}/first.csv`, first, LIMITED);
  const refusal = `a ${(statSync(first).size / MB).toFixed(1)} MB drop for a model with validation.maxBytes 1 MiB: ${refused.status} after ${formatDuration(performance.now() - refusedAt)} upload → outcome: ${refused.failure?.reason ?? ''}`;
  console.log(refusal);
  if (refused.status !== 'failed' || !refused.failure?.reason.includes('validation.maxBytes')) {
    throw new Error(`the drop over the limit was not refused by name: ${refusal}`);
  }
  const { run: firstRun } = await upload(`incoming/${MODEL}/first.csv`, first);
  console.log(`first drop (${FIRST_ROWS} rows): ${firstRun.status} ${firstRun.outcome ?? ''}`);

  const results: string[] = [];
  for (const [i, rows] of sizes.entries()) {
    const path = join(home, `drop-${rows}.csv`);
    await writeDrop(path, rows, 2 + i, SHIFT);
    const fileMb = statSync(path).size / MB;
    log.reset();
    const load = loadavg().map((l) => l.toFixed(1));
    const started = performance.now();
    const { run, execution } = await upload(`incoming/${MODEL}/drop-${rows}.csv`, path);
    const total = performance.now() - started;
    const loadAfter = loadavg().map((l) => l.toFixed(1));
    rmSync(path);
    const typedMb = (rows * COLUMNS * 8) / MB;
    const times = stateTimes(execution?.history ?? []);
    results.push(
      `\n${rows.toLocaleString('en')} rows × ${COLUMNS} (${fileMb.toFixed(0)} MB CSV, ${typedMb.toFixed(0)} MB typed; merged with the first drop's ${FIRST_ROWS.toLocaleString('en')}): ${run.status}${run.outcome ? ` (${run.outcome})` : ''} in ${formatDuration(total)} upload → outcome; load average ${load.join(' ')} before, ${loadAfter.join(' ')} after${run.failure ? `\n  failure: ${run.failure.reason}` : ''}`,
      '| step | time | peak memory (Max Memory Used) | MemorySize | peak ÷ typed data |',
      '|---|---|---|---|---|',
    );
    for (const step of new Set(Object.values(STEPS).map((s) => s.step))) {
      const figures = log.steps.get(step);
      const ms = times.get(step);
      if (!figures && ms === undefined) continue;
      results.push(
        `| ${step} | ${ms === undefined ? '—' : formatDuration(ms)} | ${figures ? `${figures.peakMb} MB` : '—'} | ${figures ? `${figures.memorySizeMb} MB` : '—'} | ${figures ? `${(figures.peakMb / typedMb).toFixed(2)}×` : '—'} |`,
      );
    }
    console.log(results.slice(-(log.steps.size + 3)).join('\n'));
  }
  console.log(`\n${refusal}\n${results.join('\n')}`);
} finally {
  await runtime.stop();
  rmSync(home, { recursive: true, force: true });
}
