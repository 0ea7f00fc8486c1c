/**
 * Local CloudWatch alarms: the template's `AWS::CloudWatch::Alarm`s evaluated against the metric store with
 * CloudWatch's semantics — statistics and percentiles per period, metric math, M out of N datapoints, the
 * four ways of treating missing data — and every state change sent as CloudWatch sends it: an
 * `aws.cloudwatch` / `CloudWatch Alarm State Change` event on the bus (where the stack's rules route it, e.g.
 * to the rollback function) and a JSON notification to the alarm's SNS actions.
 *
 * Time: periods are aligned to the epoch and evaluated over the current (possibly incomplete) period and the
 * ones before it. A period scale stretches or shrinks every alarm's period uniformly (0.01 makes a 60-second
 * period last 0.6 s of wall time), so tests and demos see the alarm → rollback loop without waiting minutes.
 *
 * @see https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarm-evaluation.html
 * @see https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html
 * @see https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-and-eventbridge.html
 */
import { createHash } from 'node:crypto';
import type { Delivery, EventBridgeEvent, PutEventInput, PutEventResult } from './eventbridge.ts';
import type { LogSink } from './log.ts';
import type { MetricDatum, MetricStore } from './metrics.ts';
import type { LocalAlarm } from './template.ts';

/** An alarm the local runtime cannot evaluate: an unsupported statistic, function or operator, a bad query. */
export class AlarmDefinitionError extends Error {
  override readonly name = 'AlarmDefinitionError';
}

/** No alarm of that name or ARN in the stack. */
export class AlarmNotFoundError extends Error {
  override readonly name = 'AlarmNotFoundError';
}

/** {@link AlarmEvaluator.waitForState} gave up. */
export class AlarmWaitTimeoutError extends Error {
  override readonly name = 'AlarmWaitTimeoutError';
}

export type AlarmStateValue = 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';
export type TreatMissingData = 'missing' | 'notBreaching' | 'breaching' | 'ignore';
export type ComparisonOperator =
  | 'GreaterThanThreshold'
  | 'GreaterThanOrEqualToThreshold'
  | 'LessThanThreshold'
  | 'LessThanOrEqualToThreshold';

/** One value per period, oldest first; `undefined` is a missing datapoint. */
export type Points = readonly (number | undefined)[];

/**
 * Periods CloudWatch retrieves beyond `EvaluationPeriods` (its "evaluation range"): the documented example
 * retrieves 5 datapoints for 3 evaluation periods. CloudWatch does not publish the rule for other lengths;
 * this runtime always adds 2.
 */
export const EVALUATION_RANGE_EXTRA_PERIODS = 2;

// --- statistics ---------------------------------------------------------------------------------

const BASIC_STATISTICS = ['SampleCount', 'Sum', 'Average', 'Minimum', 'Maximum'] as const;
const PERCENTILE_STATISTIC = /^p(\d{1,2}(?:\.\d+)?|100(?:\.0+)?)$/;

/**
 * The nearest-rank percentile: the smallest value such that at least `p` % of the values are less than or
 * equal to it, i.e. the value of rank ⌈p/100 · n⌉ (1-based) in ascending order, the minimum for p = 0.
 * This is what CloudWatch computes on raw values (it reports a value that was published, never an
 * interpolation); NumPy's `percentile(x, p, method='inverted_cdf')` agrees.
 * @throws {RangeError} for no values or `p` outside [0, 100].
 * @example percentile([12, 18, 31, 44, 77], 50) // 31
 */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) throw new RangeError('a percentile needs at least one value');
  if (!(p >= 0 && p <= 100)) throw new RangeError(`a percentile must be within [0, 100], got ${p}`);
  const sorted = [...values].sort((a, b) => a - b);
  const exactRank = (p * sorted.length) / 100;
  // p·n/100 is an integer more often than floating point shows (99.9 · 1000 / 100 = 999.0000000000001).
  const rank = Math.max(1, Math.ceil(exactRank - 1e-9 * Math.max(1, exactRank)));
  return sorted[rank - 1];
}

/** Whether `stat` is a statistic this runtime computes. */
function isSupportedStatistic(stat: string): boolean {
  return (BASIC_STATISTICS as readonly string[]).includes(stat) || PERCENTILE_STATISTIC.test(stat);
}

/**
 * A CloudWatch statistic of the raw values of one period: `SampleCount`, `Sum`, `Average`, `Minimum`,
 * `Maximum`, or a percentile `pNN` / `pNN.N` ({@link percentile}).
 * @throws {RangeError} for no values (a period without data is missing, not 0).
 * @throws {AlarmDefinitionError} for a statistic the local runtime does not compute (`tm99`, `IQM`, …).
 * @example computeStatistic('p99', latencies)
 */
export function computeStatistic(stat: string, values: readonly number[]): number {
  if (values.length === 0) {
    throw new RangeError(`${stat} of no datapoints is undefined: a period without data is missing`);
  }
  const sum = () => values.reduce((total, value) => total + value, 0);
  switch (stat) {
    case 'SampleCount':
      return values.length;
    case 'Sum':
      return sum();
    case 'Average':
      return sum() / values.length;
    case 'Minimum':
      return values.reduce((min, value) => Math.min(min, value));
    case 'Maximum':
      return values.reduce((max, value) => Math.max(max, value));
  }
  const match = PERCENTILE_STATISTIC.exec(stat);
  if (match) return percentile(values, Number(match[1]));
  throw new AlarmDefinitionError(
    `statistic "${stat}" is not computed locally (${BASIC_STATISTICS.join(', ')} and pNN are)`,
  );
}

// --- metric math --------------------------------------------------------------------------------

type Token = { kind: 'number'; value: number } | { kind: 'name' | 'symbol'; value: string };

/** A parsed metric-math expression. */
type MathNode =
  | { kind: 'number'; value: number }
  | { kind: 'id'; name: string }
  | { kind: 'negate'; operand: MathNode }
  | { kind: 'binary'; operator: string; left: MathNode; right: MathNode }
  | { kind: 'call'; name: string; args: MathNode[] }
  | { kind: 'list'; items: MathNode[] };

const SYMBOLS = '&& || == != >= <= > < + - * / ^ ( ) [ ] ,'.split(' ');
const COMPARISONS = ['==', '!=', '>=', '<=', '>', '<'];

function tokenize(expression: string): Token[] {
  const tokens: Token[] = [];
  let at = 0;
  while (at < expression.length) {
    const rest = expression.slice(at);
    const space = /^\s+/.exec(rest);
    const number = /^(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/.exec(rest);
    const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(rest);
    const symbol = SYMBOLS.find((s) => rest.startsWith(s));
    if (space) {
      at += space[0].length;
    } else if (number) {
      tokens.push({ kind: 'number', value: Number(number[0]) });
      at += number[0].length;
    } else if (name) {
      tokens.push({ kind: 'name', value: name[0] });
      at += name[0].length;
    } else if (symbol) {
      tokens.push({ kind: 'symbol', value: symbol });
      at += symbol.length;
    } else {
      throw new AlarmDefinitionError(`metric math "${expression}": unexpected "${rest[0]}" at ${at}`);
    }
  }
  return tokens;
}

/**
 * Parses a metric-math expression: numbers, query ids, `+ - * / ^`, comparisons `== != > >= < <=` (1 or
 * 0), `AND`/`&&`, `OR`/`||`, parentheses, `[a, b]` lists and function calls.
 * @throws {AlarmDefinitionError} for a syntax error.
 */
function parseMetricMath(expression: string): MathNode {
  const tokens = tokenize(expression);
  let position = 0;
  const fail = (what: string): never => {
    throw new AlarmDefinitionError(`metric math "${expression}": ${what}`);
  };
  const peek = () => tokens[position];
  const isSymbol = (value: string) => peek()?.kind === 'symbol' && peek().value === value;
  const expect = (value: string) => {
    if (!isSymbol(value)) fail(`expected "${value}" at token ${position + 1}`);
    position += 1;
  };
  const binary = (next: () => MathNode, operators: (token: Token | undefined) => string | undefined) => {
    let left = next();
    for (let operator = operators(peek()); operator !== undefined; operator = operators(peek())) {
      position += 1;
      left = { kind: 'binary', operator, left, right: next() };
    }
    return left;
  };
  const symbolIn = (symbols: string[]) => (token: Token | undefined) =>
    token?.kind === 'symbol' && symbols.includes(token.value) ? token.value : undefined;
  // Logical words and their symbols are the same operator.
  const logical = (word: 'AND' | 'OR', symbol: string) => (token: Token | undefined) =>
    (token?.kind === 'name' && token.value === word) || (token?.kind === 'symbol' && token.value === symbol)
      ? word
      : undefined;

  const or = (): MathNode => binary(and, logical('OR', '||'));
  const and = (): MathNode => binary(comparison, logical('AND', '&&'));
  const comparison = (): MathNode => {
    const left = additive();
    const operator = symbolIn(COMPARISONS)(peek());
    if (operator === undefined) return left;
    position += 1;
    return { kind: 'binary', operator, left, right: additive() };
  };
  const additive = (): MathNode => binary(multiplicative, symbolIn(['+', '-']));
  const multiplicative = (): MathNode => binary(unary, symbolIn(['*', '/']));
  const unary = (): MathNode => {
    if (!isSymbol('-')) return power();
    position += 1;
    return { kind: 'negate', operand: unary() };
  };
  const power = (): MathNode => {
    const base = primary();
    if (!isSymbol('^')) return base;
    position += 1;
    return { kind: 'binary', operator: '^', left: base, right: unary() };
  };
  const args = (close: string): MathNode[] => {
    const items: MathNode[] = [];
    if (isSymbol(close)) {
      position += 1;
      return items;
    }
    items.push(or());
    while (isSymbol(',')) {
      position += 1;
      items.push(or());
    }
    expect(close);
    return items;
  };
  const primary = (): MathNode => {
    const token = peek();
    if (token === undefined) return fail('unexpected end');
    position += 1;
    if (token.kind === 'number') return { kind: 'number', value: token.value };
    if (token.kind === 'name') {
      if (!isSymbol('(')) return { kind: 'id', name: token.value };
      position += 1;
      return { kind: 'call', name: token.value.toUpperCase(), args: args(')') };
    }
    if (token.value === '(') {
      const inner = or();
      expect(')');
      return inner;
    }
    if (token.value === '[') return { kind: 'list', items: args(']') };
    return fail(`unexpected "${token.value}"`);
  };

  const node = or();
  if (position < tokens.length) fail(`unexpected "${String(peek().value)}"`);
  return node;
}

type MathValue = { kind: 'series'; points: Points } | { kind: 'list'; items: Points[] };

interface MathContext {
  /** Periods per series. */
  readonly length: number;
  resolve(id: string): Points;
  /** The series of every metric (not expression) query, for `METRICS()`. */
  metrics(): Points[];
}

const finiteOrMissing = (value: number | undefined) =>
  value !== undefined && Number.isFinite(value) ? value : undefined;

const BINARY_OPERATORS: Record<string, (a: number, b: number) => number | undefined> = {
  '+': (a, b) => a + b,
  '-': (a, b) => a - b,
  '*': (a, b) => a * b,
  // CloudWatch drops a datapoint divided by zero rather than report an infinity.
  '/': (a, b) => (b === 0 ? undefined : a / b),
  '^': (a, b) => a ** b,
  '==': (a, b) => Number(a === b),
  '!=': (a, b) => Number(a !== b),
  '>': (a, b) => Number(a > b),
  '>=': (a, b) => Number(a >= b),
  '<': (a, b) => Number(a < b),
  '<=': (a, b) => Number(a <= b),
  AND: (a, b) => Number(a !== 0 && b !== 0),
  OR: (a, b) => Number(a !== 0 || b !== 0),
};

type Aggregate = (values: number[]) => number;
const AGGREGATES: Record<string, Aggregate> = {
  MAX: (values) => values.reduce((max, v) => Math.max(max, v)),
  MIN: (values) => values.reduce((min, v) => Math.min(min, v)),
  SUM: (values) => values.reduce((total, v) => total + v, 0),
  AVG: (values) => values.reduce((total, v) => total + v, 0) / values.length,
};

const defined = (points: Points): number[] => points.filter((v): v is number => v !== undefined);

function evaluateMath(node: MathNode, context: MathContext): MathValue {
  const series = (points: Points): MathValue => ({ kind: 'series', points });
  const asSeries = (value: MathValue, what: string): Points => {
    if (value.kind === 'list') {
      throw new AlarmDefinitionError(`${what}: a list of series is only an argument of MAX, MIN, SUM or AVG`);
    }
    return value.points;
  };
  const evaluate = (child: MathNode, what: string) => asSeries(evaluateMath(child, context), what);
  switch (node.kind) {
    case 'number':
      return series(Array.from({ length: context.length }, () => node.value));
    case 'id':
      return series(context.resolve(node.name));
    case 'negate':
      return series(evaluate(node.operand, 'negation').map((v) => (v === undefined ? undefined : -v)));
    case 'list':
      return { kind: 'list', items: node.items.map((item) => evaluate(item, 'list item')) };
    case 'binary': {
      const apply = BINARY_OPERATORS[node.operator];
      const left = evaluate(node.left, node.operator);
      const right = evaluate(node.right, node.operator);
      return series(
        left.map((a, i) => {
          const b = right[i];
          return a === undefined || b === undefined ? undefined : finiteOrMissing(apply(a, b));
        }),
      );
    }
    case 'call':
      return callFunction(node, context, evaluate);
  }
}

function callFunction(
  node: Extract<MathNode, { kind: 'call' }>,
  context: MathContext,
  evaluate: (child: MathNode, what: string) => Points,
): MathValue {
  const { name, args } = node;
  const arity = (min: number, max = min) => {
    if (args.length < min || args.length > max) {
      const expected = min === max ? `${min}` : `${min} to ${max}`;
      throw new AlarmDefinitionError(`${name} takes ${expected} arguments, got ${args.length}`);
    }
  };
  const series = (points: Points): MathValue => ({ kind: 'series', points });
  switch (name) {
    case 'IF': {
      arity(2, 3);
      const [condition, whenTrue, whenFalse] = args.map((arg) => evaluate(arg, 'IF'));
      // Without a false branch, a false condition drops the datapoint.
      return series(
        condition.map((c, i) => (c === undefined ? undefined : c !== 0 ? whenTrue[i] : whenFalse?.[i])),
      );
    }
    case 'FILL': {
      arity(2);
      const points = evaluate(args[0], 'FILL');
      const filler = args[1];
      if (filler.kind === 'id' && filler.name === 'REPEAT') {
        let last: number | undefined;
        return series(
          points.map((v) => {
            if (v !== undefined) last = v;
            return last;
          }),
        );
      }
      if (filler.kind === 'id' && filler.name === 'LINEAR') {
        throw new AlarmDefinitionError('FILL(…, LINEAR) is not evaluated locally (a value and REPEAT are)');
      }
      const values = evaluate(filler, 'FILL');
      return series(points.map((v, i) => v ?? values[i]));
    }
    case 'ABS':
      arity(1);
      return series(evaluate(args[0], 'ABS').map((v) => (v === undefined ? undefined : Math.abs(v))));
    case 'METRICS':
      arity(0);
      return { kind: 'list', items: context.metrics() };
  }
  const aggregate = AGGREGATES[name];
  if (!aggregate) {
    throw new AlarmDefinitionError(
      `function ${name} is not evaluated locally (IF, FILL, ABS, METRICS, MAX, MIN, SUM and AVG are)`,
    );
  }
  arity(1);
  const argument = evaluateMath(args[0], context);
  if (argument.kind === 'list') {
    // Across series, period by period, over the series that have a value in that period.
    return series(
      Array.from({ length: context.length }, (_, i) => {
        const values = defined(argument.items.map((points) => points[i]));
        return values.length === 0 ? undefined : aggregate(values);
      }),
    );
  }
  // Of one series: a single value over all its periods.
  const values = defined(argument.points);
  const value = values.length === 0 ? undefined : aggregate(values);
  return series(Array.from({ length: context.length }, () => value));
}

/**
 * Evaluates a metric-math expression period by period over input series of equal length. A period is
 * missing when an input it needs is missing (except through `FILL`), when it divides by zero, or when `IF`
 * without a false branch is false. Functions: `IF(c, a[, b])`, `FILL(s, value | REPEAT)`, `ABS(s)`,
 * `METRICS()`, and `MAX` / `MIN` / `SUM` / `AVG` of a list (per period) or of one series (over all periods).
 * @throws {AlarmDefinitionError} for a syntax error, an unknown id or an unsupported function.
 * @example evaluateMetricMath('FILL(errors, 0) / requests', { errors: [undefined, 2], requests: [10, 10] })
 * // [0, 0.2]
 */
export function evaluateMetricMath(expression: string, inputs: Readonly<Record<string, Points>>): Points {
  const lengths = new Set(Object.values(inputs).map((points) => points.length));
  if (lengths.size > 1) throw new RangeError('every input series needs the same number of periods');
  const context: MathContext = {
    length: lengths.values().next().value ?? 1,
    resolve(id) {
      if (!Object.hasOwn(inputs, id)) throw new AlarmDefinitionError(`metric math: unknown id "${id}"`);
      return inputs[id];
    },
    metrics: () => Object.values(inputs),
  };
  const value = evaluateMath(parseMetricMath(expression), context);
  if (value.kind === 'list') throw new AlarmDefinitionError(`"${expression}" gives a list, not one series`);
  return value.points;
}

// --- the alarm rule -----------------------------------------------------------------------------

/** What decides an alarm's state from its datapoints. */
export interface AlarmRule {
  readonly threshold: number;
  readonly comparisonOperator: ComparisonOperator;
  /** N: how many of the most recent datapoints are evaluated. */
  readonly evaluationPeriods: number;
  /** M: how many of those must breach for ALARM. */
  readonly datapointsToAlarm: number;
  readonly treatMissingData: TreatMissingData;
}

/** One period of the evaluation range: its start (epoch ms) and its value, none when missing. */
export interface RangeDatapoint {
  readonly timestamp: number;
  readonly value?: number;
}

/** The outcome of one evaluation. */
export interface AlarmDecision {
  /** The state the alarm is in after the evaluation; undefined when it keeps its state (`ignore`). */
  readonly state?: AlarmStateValue;
  readonly reason: string;
  /** The datapoints the decision used, oldest first (missing ones that were filled have no value). */
  readonly evaluated: readonly RangeDatapoint[];
}

const COMPARE: Record<
  ComparisonOperator,
  { test: (value: number, threshold: number) => boolean; words: string }
> = {
  GreaterThanThreshold: { test: (v, t) => v > t, words: 'greater than' },
  GreaterThanOrEqualToThreshold: { test: (v, t) => v >= t, words: 'greater than or equal to' },
  LessThanThreshold: { test: (v, t) => v < t, words: 'less than' },
  LessThanOrEqualToThreshold: { test: (v, t) => v <= t, words: 'less than or equal to' },
};

/** Numbers the way CloudWatch (Java) prints doubles in reasons: `1000.0`, `0.05`. */
function javaDouble(value: number): string {
  return Number.isInteger(value) ? `${value}.0` : String(value);
}

const pad = (n: number) => String(n).padStart(2, '0');

/** `dd/MM/yy HH:mm:ss` in UTC, as CloudWatch dates the datapoints in a reason. */
function reasonDate(epochMs: number): string {
  const d = new Date(epochMs);
  return (
    `${pad(d.getUTCDate())}/${pad(d.getUTCMonth() + 1)}/${pad(d.getUTCFullYear() % 100)} ` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`
  );
}

/** CloudWatch's timestamp format, `2019-10-02T17:04:40.989+0000`. */
export function cloudWatchTime(epochMs: number): string {
  return new Date(epochMs).toISOString().replace('Z', '+0000');
}

const count = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;

interface CrossedReason {
  toAlarm: boolean;
  /** Datapoints in the reason's list: the real ones on the side the alarm went to. */
  matched: readonly RangeDatapoint[];
  /** How many datapoints (real and filled) are on that side. */
  matching: number;
  total: number;
  filled: number;
  filledAs: 'Breaching' | 'NonBreaching';
}

function crossedReason(rule: AlarmRule, reason: CrossedReason): string {
  const list = reason.matched.map((p) => `${javaDouble(p.value!)} (${reasonDate(p.timestamp)})`).join(', ');
  const filled =
    reason.filled > 0
      ? ` (${count(reason.filled, 'missing datapoint')} treated as [${reason.filledAs}])`
      : '';
  const minimum = reason.toAlarm
    ? rule.datapointsToAlarm
    : rule.evaluationPeriods - rule.datapointsToAlarm + 1;
  return (
    `Threshold Crossed: ${reason.matching} out of the last ${reason.total} datapoints [${list}]${filled} ` +
    `${reason.matching === 1 ? 'was' : 'were'} ${reason.toAlarm ? '' : 'not '}${COMPARE[rule.comparisonOperator].words} ` +
    `the threshold (${javaDouble(rule.threshold)}) (minimum ${count(minimum, 'datapoint')} for ` +
    `${reason.toAlarm ? 'OK -> ALARM' : 'ALARM -> OK'} transition).`
  );
}

/**
 * The state CloudWatch gives an alarm whose evaluation range (oldest first, `EvaluationPeriods` plus
 * {@link EVALUATION_RANGE_EXTRA_PERIODS} periods ending with the current one) holds these datapoints:
 * - no datapoint missing, or at least N real ones: the N most recent real datapoints decide — ALARM when at
 *   least M breach, otherwise OK; how missing data is treated does not matter;
 * - every datapoint missing: `missing` → INSUFFICIENT_DATA, `breaching` → ALARM, `notBreaching` → OK,
 *   `ignore` → unchanged;
 * - fewer than N real datapoints: all of them count, and `breaching` / `notBreaching` fill the missing ones
 *   up to N; with `missing` or `ignore` nothing is filled: M breaching → ALARM, any non-breaching → OK, and
 *   otherwise (only breaching ones, fewer than M) `ignore` keeps the state while `missing` goes to ALARM when
 *   the oldest breaching datapoint is at least M periods old (AWS knowledge center, "alarm after a single
 *   breached data point") and to INSUFFICIENT_DATA when it is younger.
 * This reproduces every row of both tables in "How alarm state is evaluated when data is missing".
 * @throws {RangeError} for an empty range.
 */
export function decideAlarmState(range: readonly RangeDatapoint[], rule: AlarmRule): AlarmDecision {
  if (range.length === 0) throw new RangeError('an evaluation range needs at least one period');
  const { evaluationPeriods: n, datapointsToAlarm: m, treatMissingData: treat } = rule;
  const breaches = (p: RangeDatapoint) => COMPARE[rule.comparisonOperator].test(p.value!, rule.threshold);
  const real = range.filter((p) => p.value !== undefined);

  if (real.length === 0) {
    const periods = count(range.length, 'period');
    const missing = count(range.length, 'missing datapoint');
    const verb = range.length === 1 ? 'was' : 'were';
    switch (treat) {
      case 'missing':
        return {
          state: 'INSUFFICIENT_DATA',
          reason: `Insufficient Data: ${count(range.length, 'datapoint')} ${verb} unknown.`,
          evaluated: range,
        };
      case 'ignore':
        return {
          reason: `no datapoints were received for ${periods}; missing data is ignored`,
          evaluated: range,
        };
      default: {
        const filledAs = treat === 'breaching' ? 'Breaching' : 'NonBreaching';
        return {
          state: treat === 'breaching' ? 'ALARM' : 'OK',
          reason: `Threshold Crossed: no datapoints were received for ${periods} and ${missing} ${verb} treated as [${filledAs}].`,
          evaluated: range,
        };
      }
    }
  }

  /** M of the evaluated datapoints, `filled` missing ones among them counted `filledAs`. */
  const decide = (
    evaluated: RangeDatapoint[],
    filled = 0,
    filledAs: 'Breaching' | 'NonBreaching' = 'Breaching',
  ) => {
    const breaching = evaluated.filter((p) => p.value !== undefined && breaches(p));
    const calm = evaluated.filter((p) => p.value !== undefined && !breaches(p));
    const filledBreaching = filledAs === 'Breaching' ? filled : 0;
    const toAlarm = breaching.length + filledBreaching >= m;
    const reason = crossedReason(rule, {
      toAlarm,
      matched: toAlarm ? breaching : calm,
      matching: toAlarm ? breaching.length + filledBreaching : calm.length + filled - filledBreaching,
      total: evaluated.length,
      filled,
      filledAs,
    });
    return { state: toAlarm ? ('ALARM' as const) : ('OK' as const), reason, evaluated };
  };

  if (real.length >= n) return decide(real.slice(-n));

  const filled = n - real.length;
  // CloudWatch fills as few missing datapoints as it can: the most recent ones.
  const fillers = range.filter((p) => p.value === undefined).slice(-filled);
  const withFillers = range.filter((p) => p.value !== undefined || fillers.includes(p));
  if (treat === 'breaching') return decide(withFillers, filled, 'Breaching');
  if (treat === 'notBreaching') return decide(withFillers, filled, 'NonBreaching');

  const breaching = real.filter(breaches);
  if (breaching.length >= m || breaching.length < real.length) return decide(real);
  // Only breaching datapoints, too few of them: the alarm cannot tell yet.
  if (treat === 'ignore') {
    return {
      reason: `${count(real.length, 'datapoint')} of ${range.length} received; missing data is ignored`,
      evaluated: real,
    };
  }
  const oldestAge = range.length - range.indexOf(real[0]);
  if (oldestAge >= m) {
    return {
      state: 'ALARM',
      reason: crossedReason(rule, {
        toAlarm: true,
        matched: real,
        matching: real.length,
        total: real.length,
        filled: 0,
        filledAs: 'Breaching',
      }),
      evaluated: real,
    };
  }
  const unknown = range.length - real.length;
  return {
    state: 'INSUFFICIENT_DATA',
    reason: `Insufficient Data: ${count(unknown, 'datapoint')} ${unknown === 1 ? 'was' : 'were'} unknown.`,
    evaluated: range,
  };
}

// --- compiling an alarm of the template -----------------------------------------------------------

/** An alarm as the runtime evaluates it: the template's, with its description. */
export interface AlarmDefinition extends LocalAlarm {
  readonly description?: string;
}

/** A metric one alarm reads, with the statistic it needs per period. */
interface MetricInput {
  readonly id: string;
  readonly namespace: string;
  readonly metricName: string;
  readonly dimensions: Readonly<Record<string, string>>;
  readonly stat: string;
}

/** `configuration.metrics[]` of the state-change event. */
type EventMetric =
  | {
      id: string;
      metricStat: {
        metric: { namespace: string; name: string; dimensions: Record<string, string> };
        period: number;
        stat: string;
      };
      returnData: boolean;
    }
  | { id: string; expression: string; label?: string; returnData: boolean };

interface CompiledAlarm {
  readonly rule: AlarmRule;
  readonly periodSeconds: number;
  readonly inputs: readonly MetricInput[];
  /** The alarm's series from its inputs' series (by query id). */
  readonly series: (inputs: ReadonlyMap<string, Points>, length: number) => Points;
  readonly eventMetrics: readonly EventMetric[];
  /** The `Trigger` of the SNS notification. */
  readonly trigger: Record<string, unknown>;
  /** The statistic named in `reasonData` (single-metric alarms only, as CloudWatch does). */
  readonly statistic?: string;
}

/** A query of the template's `Metrics` (CloudFormation's `MetricDataQuery`). */
interface MetricDataQuery {
  Id?: string;
  Expression?: string;
  Label?: string;
  ReturnData?: boolean;
  Period?: number;
  MetricStat?: {
    Metric?: { Namespace?: string; MetricName?: string; Dimensions?: { Name: string; Value: string }[] };
    Period?: number;
    Stat?: string;
  };
}

const TREATMENTS: readonly TreatMissingData[] = ['missing', 'notBreaching', 'breaching', 'ignore'];

function ruleOf(alarm: AlarmDefinition): AlarmRule {
  const operator = alarm.comparisonOperator as ComparisonOperator;
  if (!Object.hasOwn(COMPARE, operator)) {
    throw new AlarmDefinitionError(
      `comparison ${alarm.comparisonOperator} is not evaluated locally (anomaly-detection bands are not)`,
    );
  }
  if (alarm.threshold === undefined || !Number.isFinite(alarm.threshold)) {
    throw new AlarmDefinitionError(
      'the alarm has no static Threshold (ThresholdMetricId is not evaluated locally)',
    );
  }
  const n = alarm.evaluationPeriods;
  const m = alarm.datapointsToAlarm ?? n;
  if (!Number.isInteger(n) || n < 1) {
    throw new AlarmDefinitionError(`EvaluationPeriods must be ≥ 1, got ${n}`);
  }
  if (!Number.isInteger(m) || m < 1 || m > n) {
    throw new AlarmDefinitionError(`DatapointsToAlarm must be within 1…${n}, got ${m}`);
  }
  const treat = (alarm.treatMissingData ?? 'missing') as TreatMissingData;
  if (!TREATMENTS.includes(treat)) {
    throw new AlarmDefinitionError(`TreatMissingData must be one of ${TREATMENTS.join(', ')}, got ${treat}`);
  }
  return {
    threshold: alarm.threshold,
    comparisonOperator: operator,
    evaluationPeriods: n,
    datapointsToAlarm: m,
    treatMissingData: treat,
  };
}

function checkStatistic(stat: string | undefined, where: string): string {
  if (stat === undefined || !isSupportedStatistic(stat)) {
    throw new AlarmDefinitionError(
      `${where}: statistic ${stat ?? '(none)'} is not computed locally (${BASIC_STATISTICS.join(', ')} and pNN are)`,
    );
  }
  return stat;
}

function positivePeriod(period: unknown, where: string): number {
  const seconds = Number(period);
  if (!(seconds > 0)) {
    throw new AlarmDefinitionError(`${where}: Period must be positive, got ${String(period)}`);
  }
  return seconds;
}

const snsDimensions = (dimensions: Readonly<Record<string, string>>) =>
  Object.entries(dimensions).map(([name, value]) => ({ value, name }));

/** A UUID derived from the alarm ARN: CloudWatch names a single-metric alarm's only query with one. */
function queryIdOf(arn: string): string {
  const hex = createHash('sha256').update(arn).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

function triggerBase(alarm: AlarmDefinition, rule: AlarmRule, periodSeconds: number) {
  return {
    Period: periodSeconds,
    EvaluationPeriods: rule.evaluationPeriods,
    ...(alarm.datapointsToAlarm === undefined ? {} : { DatapointsToAlarm: alarm.datapointsToAlarm }),
    ComparisonOperator: rule.comparisonOperator,
    Threshold: rule.threshold,
    TreatMissingData: alarm.treatMissingData ?? '',
    EvaluateLowSampleCountPercentile: '',
  };
}

function compileSingleMetric(alarm: AlarmDefinition, rule: AlarmRule): CompiledAlarm {
  if (alarm.namespace === undefined || alarm.metricName === undefined) {
    throw new AlarmDefinitionError('the alarm names neither a metric (Namespace, MetricName) nor Metrics');
  }
  const stat = checkStatistic(alarm.extendedStatistic ?? alarm.statistic, 'the alarm');
  const periodSeconds = positivePeriod(alarm.periodSeconds, 'the alarm');
  const id = queryIdOf(alarm.arn);
  const input = {
    id,
    namespace: alarm.namespace,
    metricName: alarm.metricName,
    dimensions: alarm.dimensions,
    stat,
  };
  return {
    rule,
    periodSeconds,
    inputs: [input],
    series: (inputs, length) => inputs.get(id) ?? Array.from({ length }, () => undefined),
    eventMetrics: [
      {
        id,
        metricStat: {
          metric: { namespace: input.namespace, name: input.metricName, dimensions: { ...input.dimensions } },
          period: periodSeconds,
          stat,
        },
        returnData: true,
      },
    ],
    trigger: {
      MetricName: input.metricName,
      Namespace: input.namespace,
      StatisticType: alarm.extendedStatistic === undefined ? 'Statistic' : 'ExtendedStatistic',
      Statistic: alarm.extendedStatistic ?? stat.toUpperCase(),
      Unit: null,
      Dimensions: snsDimensions(input.dimensions),
      ...triggerBase(alarm, rule, periodSeconds),
    },
    statistic: stat,
  };
}

function compileMetricMath(
  alarm: AlarmDefinition,
  rule: AlarmRule,
  queries: MetricDataQuery[],
): CompiledAlarm {
  const ids = new Set<string>();
  for (const query of queries) {
    if (typeof query.Id !== 'string' || query.Id === '') {
      throw new AlarmDefinitionError('a query of Metrics has no Id');
    }
    if (ids.has(query.Id)) throw new AlarmDefinitionError(`two queries of Metrics have the Id "${query.Id}"`);
    if ((query.Expression === undefined) === (query.MetricStat === undefined)) {
      throw new AlarmDefinitionError(`query "${query.Id}" needs exactly one of Expression and MetricStat`);
    }
    ids.add(query.Id);
  }
  const returned = queries.filter((q) => q.ReturnData ?? true);
  if (returned.length !== 1) {
    throw new AlarmDefinitionError(
      `exactly one query of Metrics must have ReturnData true, ${returned.length} do`,
    );
  }
  const inputs: MetricInput[] = [];
  const periods = new Set<number>();
  const expressions = new Map<string, MathNode>();
  for (const query of queries) {
    const where = `query "${query.Id}"`;
    if (query.Expression !== undefined) {
      expressions.set(query.Id!, parseMetricMath(query.Expression));
      continue;
    }
    const metric = query.MetricStat!.Metric;
    if (!metric?.Namespace || !metric.MetricName) throw new AlarmDefinitionError(`${where} names no metric`);
    periods.add(positivePeriod(query.MetricStat!.Period, where));
    inputs.push({
      id: query.Id!,
      namespace: metric.Namespace,
      metricName: metric.MetricName,
      dimensions: Object.fromEntries((metric.Dimensions ?? []).map((d) => [d.Name, String(d.Value)])),
      stat: checkStatistic(query.MetricStat!.Stat, where),
    });
  }
  if (periods.size > 1) {
    throw new AlarmDefinitionError(
      `every metric of Metrics needs the same Period, got ${[...periods].join(', ')}`,
    );
  }
  const periodSeconds =
    periods.size === 1 ? [...periods][0] : positivePeriod(returned[0].Period, `query "${returned[0].Id}"`);
  const metricIds = new Set(inputs.map((input) => input.id));

  const series = (values: ReadonlyMap<string, Points>, length: number): Points => {
    const missing = Array.from({ length }, () => undefined);
    const memo = new Map<string, Points>();
    const visiting = new Set<string>();
    const context: MathContext = {
      length,
      resolve(id) {
        if (metricIds.has(id)) return values.get(id) ?? missing;
        const known = memo.get(id);
        if (known) return known;
        const node = expressions.get(id);
        if (!node) throw new AlarmDefinitionError(`metric math: unknown id "${id}"`);
        if (visiting.has(id)) throw new AlarmDefinitionError(`metric math: "${id}" refers to itself`);
        visiting.add(id);
        const value = evaluateMath(node, context);
        if (value.kind === 'list') {
          throw new AlarmDefinitionError(`query "${id}" gives a list, not one series`);
        }
        memo.set(id, value.points);
        return value.points;
      },
      metrics: () => inputs.map((input) => values.get(input.id) ?? missing),
    };
    return context.resolve(returned[0].Id!);
  };
  // Evaluating once on no data surfaces unknown ids and functions now rather than at the first period.
  series(new Map(), 1);

  return {
    rule,
    periodSeconds,
    inputs,
    series,
    eventMetrics: queries.map((query): EventMetric => {
      const returnData = query.ReturnData ?? true;
      if (query.Expression !== undefined) {
        return {
          id: query.Id!,
          expression: query.Expression,
          ...(query.Label === undefined ? {} : { label: query.Label }),
          returnData,
        };
      }
      const input = inputs.find((i) => i.id === query.Id)!;
      return {
        id: input.id,
        metricStat: {
          metric: { namespace: input.namespace, name: input.metricName, dimensions: { ...input.dimensions } },
          period: periodSeconds,
          stat: input.stat,
        },
        returnData,
      };
    }),
    trigger: {
      Metrics: queries.map((query) => {
        const input = inputs.find((i) => i.id === query.Id);
        return {
          ...(query.Expression === undefined ? {} : { Expression: query.Expression }),
          Id: query.Id,
          ...(query.Label === undefined ? {} : { Label: query.Label }),
          ...(input
            ? {
                MetricStat: {
                  Metric: {
                    Dimensions: snsDimensions(input.dimensions),
                    MetricName: input.metricName,
                    Namespace: input.namespace,
                  },
                  Period: periodSeconds,
                  Stat: input.stat,
                },
              }
            : {}),
          ReturnData: query.ReturnData ?? true,
        };
      }),
      ...triggerBase(alarm, rule, periodSeconds),
    },
  };
}

/**
 * Checks an alarm and prepares its evaluation.
 * @throws {AlarmDefinitionError} for what the local runtime cannot evaluate.
 */
function compileAlarm(alarm: AlarmDefinition): CompiledAlarm {
  const rule = ruleOf(alarm);
  if (alarm.metrics === undefined) return compileSingleMetric(alarm, rule);
  if (!Array.isArray(alarm.metrics)) throw new AlarmDefinitionError('Metrics must be a list of queries');
  return compileMetricMath(alarm, rule, alarm.metrics as MetricDataQuery[]);
}

// --- notifications ------------------------------------------------------------------------------

const REGION_NAMES: Record<string, string> = {
  'us-east-1': 'US East (N. Virginia)',
  'us-east-2': 'US East (Ohio)',
  'us-west-1': 'US West (N. California)',
  'us-west-2': 'US West (Oregon)',
  'eu-west-1': 'EU (Ireland)',
  'eu-west-2': 'EU (London)',
  'eu-central-1': 'EU (Frankfurt)',
  'ap-northeast-1': 'Asia Pacific (Tokyo)',
  'ap-southeast-1': 'Asia Pacific (Singapore)',
  'ap-southeast-2': 'Asia Pacific (Sydney)',
};

/** SNS caps a subject at 100 characters; CloudWatch shortens the alarm name to fit. */
const SUBJECT_LIMIT = 100;

function notificationSubject(state: AlarmStateValue, name: string, region: string): string {
  const budget = SUBJECT_LIMIT - state.length - region.length - ': "" in '.length;
  const shown = name.length > budget ? `${name.slice(0, budget - 3)}...` : name;
  return `${state}: "${shown}" in ${region}`;
}

// --- the evaluator ------------------------------------------------------------------------------

/** An alarm's state as CloudWatch reports it. */
export interface AlarmState {
  readonly value: AlarmStateValue;
  readonly reason: string;
  /** JSON with the evaluated datapoints (absent for the initial state). */
  readonly reasonData?: string;
  /** When the state was entered, CloudWatch's format. */
  readonly timestamp: string;
}

/** One state change of one alarm. */
export interface AlarmTransition {
  readonly alarmName: string;
  readonly from: AlarmStateValue;
  readonly to: AlarmStateValue;
  readonly state: AlarmState;
  readonly previousState: AlarmState;
  /** When the evaluator detected the change (epoch ms of its clock). */
  readonly detectedAt: number;
  /** When the state-change event had been handed to every matched rule's targets (epoch ms). */
  deliveredAt?: number;
  /** The event as the bus put it, once put. */
  event?: EventBridgeEvent;
  /** What the bus did with the event: one entry per target of each matched rule. */
  deliveries: Delivery[];
  /** Message ids of the SNS notifications the alarm's actions sent. */
  readonly notifications: string[];
}

/** An alarm of the stack and where it stands. */
export interface AlarmStatus {
  readonly name: string;
  readonly arn: string;
  readonly state: AlarmState;
  /** Wall-clock length of one period (the alarm's Period times the period scale), when evaluated. */
  readonly periodMs?: number;
  /** Why the alarm is not evaluated locally (it stays INSUFFICIENT_DATA), if it is not. */
  readonly unsupported?: string;
}

/** Options of {@link AlarmEvaluator}. */
export interface AlarmEvaluatorOptions {
  readonly alarms: readonly AlarmDefinition[];
  readonly metrics: MetricStore;
  /** The account named in SNS notifications. */
  readonly account: string;
  readonly region: string;
  /** Puts an event on the bus (the runtime's `EventBus.put`). */
  readonly putEvent: (input: PutEventInput) => Promise<PutEventResult>;
  /**
   * Publishes to an SNS topic of the stack and returns the message id.
   * @throws when there is no such topic (logged; the other actions still run).
   */
  readonly publish: (request: { topicArn: string; subject: string; message: string }) => string;
  readonly log: LogSink;
  /**
   * Multiplies every alarm's period: 0.01 makes a 60-second period last 0.6 s of wall time. Datapoints keep
   * their real timestamps; only the period boundaries move. @default 1
   */
  readonly periodScale?: number;
  /**
   * How often every alarm is evaluated; alarms are also evaluated as soon as datapoints of their metrics
   * arrive. @default 1000 ms, or a quarter of the shortest scaled period when that is shorter (≥ 10 ms)
   */
  readonly evaluationIntervalMs?: number;
  /** The clock (epoch ms). @default Date.now */
  readonly now?: () => number;
}

interface AlarmRecord {
  readonly definition: AlarmDefinition;
  readonly compiled?: CompiledAlarm;
  readonly unsupported?: string;
  readonly periodMs?: number;
  state: AlarmState;
  /** Settles once the latest state change was logged, put on the bus and notified. */
  announced: Promise<void>;
  readonly history: AlarmTransition[];
  /**
   * Each input's statistic per period start, with the store's {@link MetricStore.windowStamp} it was
   * computed at: an evaluation computes again only the periods whose datapoints changed since (the
   * current one, as a rule), so its cost follows the datapoints of a period, not of the whole range.
   */
  readonly periodStatistics: Map<string, PeriodStatistics>;
}

/** An input's statistic by period start, with the window stamp it was computed at. */
type PeriodStatistics = Map<number, { stamp: number; value: number | undefined }>;

const metricKey = (namespace: string, metricName: string) => `${namespace}\u0000${metricName}`;

/**
 * Evaluates the stack's alarms on a timer, when their metrics get datapoints, and on demand; sends each
 * state change to the bus and to the alarm's SNS actions, logs it, and keeps it in the alarm's history.
 * Every alarm starts in INSUFFICIENT_DATA, as a freshly created CloudWatch alarm does.
 * @example
 * const alarms = new AlarmEvaluator({ alarms: stack.alarms, metrics, account, region, putEvent, publish, log });
 * alarms.start();
 * await alarms.waitForState('Driftline/rollback/air-passengers/production/5xx-rate', 'ALARM');
 */
export class AlarmEvaluator {
  /** The period scale in effect. */
  readonly periodScale: number;
  /** How often the timer evaluates every alarm. */
  readonly evaluationIntervalMs: number;
  private readonly options: AlarmEvaluatorOptions;
  private readonly now: () => number;
  private readonly records: AlarmRecord[];
  private readonly configurationUpdated: string;
  /** The state every alarm is created in. */
  private readonly initialState: AlarmState;
  private readonly waiters = new Set<() => void>();
  private timer?: NodeJS.Timeout;
  private unsubscribe?: () => void;
  /** Evaluations run one after another, so states and their events stay in order. */
  private queue: Promise<unknown> = Promise.resolve();
  /** Alarms whose metrics got datapoints since the last evaluation they triggered. */
  private readonly dirty = new Set<AlarmRecord>();
  private dirtyScheduled = false;
  /** When the last evaluation triggered by datapoints started (monotonic ms, scheduling only). */
  private lastDirtyRun = Number.NEGATIVE_INFINITY;

  /** @throws {RangeError} for a period scale or interval that is not a positive number. */
  constructor(options: AlarmEvaluatorOptions) {
    this.options = options;
    this.now = options.now ?? Date.now;
    this.periodScale = options.periodScale ?? 1;
    if (!(this.periodScale > 0 && Number.isFinite(this.periodScale))) {
      throw new RangeError(`the alarm period scale must be a positive number, got ${this.periodScale}`);
    }
    const created = this.now();
    this.configurationUpdated = cloudWatchTime(created);
    const initial: AlarmState = {
      value: 'INSUFFICIENT_DATA',
      reason: 'Unchecked: Initial alarm creation',
      timestamp: cloudWatchTime(created),
    };
    this.initialState = initial;
    this.records = options.alarms.map((definition): AlarmRecord => {
      try {
        const compiled = compileAlarm(definition);
        // Whole milliseconds keep period boundaries exact however the scale divides.
        const periodMs = Math.max(1, Math.round(compiled.periodSeconds * 1000 * this.periodScale));
        return {
          definition,
          compiled,
          periodMs,
          state: initial,
          announced: Promise.resolve(),
          history: [],
          periodStatistics: new Map(),
        };
      } catch (error) {
        if (!(error instanceof AlarmDefinitionError)) throw error;
        return {
          definition,
          unsupported: error.message,
          state: initial,
          announced: Promise.resolve(),
          history: [],
          periodStatistics: new Map(),
        };
      }
    });
    const shortest = Math.min(...this.records.map((r) => r.periodMs ?? Number.POSITIVE_INFINITY));
    this.evaluationIntervalMs =
      options.evaluationIntervalMs ?? Math.min(1000, Math.max(10, Math.round(shortest / 4)));
    if (!(this.evaluationIntervalMs > 0)) {
      throw new RangeError(
        `the alarm evaluation interval must be positive, got ${this.evaluationIntervalMs}`,
      );
    }
  }

  /** Starts evaluating: at once, then every interval and whenever an alarm's metric gets datapoints. */
  start(): void {
    if (this.timer) return;
    const { log } = this.options;
    for (const record of this.records) {
      if (record.unsupported) {
        log.line('alarm', `note: ${record.definition.name} is not evaluated locally: ${record.unsupported}`);
      }
    }
    const evaluated = this.records.filter((r) => r.compiled).length;
    if (evaluated > 0) {
      const scale = this.periodScale === 1 ? '' : ` (periods ×${this.periodScale})`;
      log.line(
        'alarm',
        `evaluating ${count(evaluated, 'alarm')} every ${this.evaluationIntervalMs} ms${scale}`,
      );
    }
    const byMetric = new Map<string, AlarmRecord[]>();
    for (const record of this.records) {
      for (const input of record.compiled?.inputs ?? []) {
        const key = metricKey(input.namespace, input.metricName);
        byMetric.set(key, [...(byMetric.get(key) ?? []), record]);
      }
    }
    this.unsubscribe = this.options.metrics.onPut((datapoints) => this.markDirty(datapoints, byMetric));
    let tickQueued = false;
    const tick = () => {
      // A slow evaluation must not pile up ticks behind it.
      if (tickQueued) return;
      tickQueued = true;
      this.inBackground(() => {
        tickQueued = false;
        return this.records;
      });
    };
    this.timer = setInterval(tick, this.evaluationIntervalMs).unref();
    tick();
  }

  /** Stops the timer and waits for the evaluation in progress (and its deliveries) to finish. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    // An evaluation already scheduled by new datapoints then finds nothing to do.
    this.dirty.clear();
    await this.queue;
  }

  /**
   * Evaluates every alarm now and sends the state changes.
   * @returns the transitions, once their events were delivered and their notifications published.
   */
  evaluateNow(): Promise<AlarmTransition[]> {
    return this.enqueue(() => this.records);
  }

  /** Every alarm of the stack and its current state. */
  list(): AlarmStatus[] {
    return this.records.map((record) => ({
      name: record.definition.name,
      arn: record.definition.arn,
      state: record.state,
      ...(record.periodMs === undefined ? {} : { periodMs: record.periodMs }),
      ...(record.unsupported === undefined ? {} : { unsupported: record.unsupported }),
    }));
  }

  /**
   * The state changes of one alarm (name or ARN), oldest first.
   * @throws {AlarmNotFoundError} when the stack has no such alarm.
   */
  history(nameOrArn: string): AlarmTransition[] {
    return [...this.record(nameOrArn).history];
  }

  /**
   * Resolves with the alarm's status once it is in `state` (at once if it already is).
   * @throws {AlarmNotFoundError} when the stack has no such alarm.
   * @throws {AlarmWaitTimeoutError} when `timeoutMs` passes first.
   */
  waitForState(nameOrArn: string, state: AlarmStateValue, timeoutMs = 30_000): Promise<AlarmStatus> {
    const record = this.record(nameOrArn);
    const status = () => this.list().find((s) => s.arn === record.definition.arn)!;
    if (record.state.value === state) return record.announced.then(status);
    return new Promise((resolve, reject) => {
      const check = () => {
        if (record.state.value !== state) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(status());
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(
          new AlarmWaitTimeoutError(
            `alarm ${record.definition.name} is still ${record.state.value} after ${timeoutMs} ms (waited for ${state})`,
          ),
        );
      }, timeoutMs);
      this.waiters.add(check);
    });
  }

  private record(nameOrArn: string): AlarmRecord {
    const record = this.records.find(
      (r) => r.definition.name === nameOrArn || r.definition.arn === nameOrArn,
    );
    if (!record) throw new AlarmNotFoundError(`the stack has no alarm named "${nameOrArn}"`);
    return record;
  }

  /** Queues an evaluation of the alarms watching the new datapoints' metrics (one for a burst of them, coalesced). */
  private markDirty(datapoints: readonly MetricDatum[], byMetric: ReadonlyMap<string, AlarmRecord[]>): void {
    for (const datum of datapoints) {
      for (const record of byMetric.get(metricKey(datum.namespace, datum.metricName)) ?? []) {
        this.dirty.add(record);
      }
    }
    if (this.dirty.size === 0 || this.dirtyScheduled) return;
    this.dirtyScheduled = true;
    const run = () =>
      this.inBackground(() => {
        this.dirtyScheduled = false;
        this.lastDirtyRun = performance.now();
        const records = [...this.dirty];
        this.dirty.clear();
        return records;
      });
    // The first datapoints after a quiet spell are evaluated at once; under a steady stream, at most once
    // per evaluation interval (≤ 1 s), so the cost follows the alarms, not the request rate.
    const wait = this.lastDirtyRun + Math.min(this.evaluationIntervalMs, 1000) - performance.now();
    if (wait <= 0) setImmediate(run);
    else setTimeout(run, wait).unref();
  }

  /** Queues an evaluation nobody awaits; its failure is logged by {@link enqueue}. */
  private inBackground(select: () => readonly AlarmRecord[]): void {
    this.enqueue(select).catch(() => undefined);
  }

  private enqueue(select: () => readonly AlarmRecord[]): Promise<AlarmTransition[]> {
    const run = this.queue.then(() => this.evaluate(select()));
    this.queue = run.catch((error: Error) =>
      this.options.log.line('alarm', `evaluation failed: ${error.message}`),
    );
    return run;
  }

  private async evaluate(records: readonly AlarmRecord[]): Promise<AlarmTransition[]> {
    const now = this.now();
    const changes = records.flatMap((record) => {
      const transition = this.evaluateOne(record, now);
      return transition ? [{ record, transition }] : [];
    });
    // A stack's alarms all settle on their first evaluation: one console line says so, not one per alarm.
    const settled = changes.filter(
      ({ transition }) => transition.previousState === this.initialState && transition.to === 'OK',
    );
    const quiet = new Set(settled.length > 1 ? settled.map(({ transition }) => transition) : []);
    if (quiet.size > 0) {
      this.options.log.line(
        'alarm',
        `${count(quiet.size, 'alarm')} INSUFFICIENT_DATA → OK on their first evaluation (each reason in runtime.alarms.list())`,
      );
    }
    for (const { record, transition } of changes) {
      record.announced = this.announce(record, transition, !quiet.has(transition));
    }
    await Promise.all(changes.map(({ record }) => record.announced));
    for (const check of [...this.waiters]) check();
    return changes.map(({ transition }) => transition);
  }

  /** The alarm's datapoints for the evaluation range ending with the period `now` falls in. */
  private rangeOf(
    record: AlarmRecord,
    compiled: CompiledAlarm,
    periodMs: number,
    now: number,
  ): RangeDatapoint[] {
    const length = compiled.rule.evaluationPeriods + EVALUATION_RANGE_EXTRA_PERIODS;
    const first = Math.floor(now / periodMs) - length + 1;
    const inputs = new Map(
      compiled.inputs.map((input) => {
        const known: PeriodStatistics = record.periodStatistics.get(input.id) ?? new Map();
        record.periodStatistics.set(input.id, known);
        for (const start of known.keys()) if (start < first * periodMs) known.delete(start);
        const points = Array.from({ length }, (_, i) => {
          const window = {
            namespace: input.namespace,
            metricName: input.metricName,
            // Always an object: CloudWatch matches the exact dimension set, also when it is empty.
            dimensions: input.dimensions,
            startTime: (first + i) * periodMs,
            endTime: (first + i + 1) * periodMs,
          };
          const stamp = this.options.metrics.windowStamp(window);
          const cached = known.get(window.startTime);
          if (stamp !== undefined && cached?.stamp === stamp) return cached.value;
          const values = this.options.metrics.query(window).map((datum) => datum.value);
          const value = values.length === 0 ? undefined : computeStatistic(input.stat, values);
          if (stamp === undefined) known.delete(window.startTime);
          else known.set(window.startTime, { stamp, value });
          return value;
        });
        return [input.id, points] as const;
      }),
    );
    return compiled
      .series(inputs, length)
      .map((value, i) => ({ timestamp: (first + i) * periodMs, ...(value === undefined ? {} : { value }) }));
  }

  /** Evaluates one alarm and, when its state changes, records the transition. */
  private evaluateOne(record: AlarmRecord, now: number): AlarmTransition | undefined {
    const { compiled, periodMs } = record;
    if (!compiled || periodMs === undefined) return undefined;
    const range = this.rangeOf(record, compiled, periodMs, now);
    const decision = decideAlarmState(range, compiled.rule);
    if (decision.state === undefined || decision.state === record.state.value) return undefined;
    const real = decision.evaluated.filter((p) => p.value !== undefined);
    const reasonData = JSON.stringify({
      version: '1.0',
      queryDate: cloudWatchTime(now),
      startDate: cloudWatchTime(decision.evaluated[0]?.timestamp ?? range[0].timestamp),
      ...(compiled.statistic === undefined ? {} : { statistic: compiled.statistic }),
      period: compiled.periodSeconds,
      recentDatapoints: real.map((p) => p.value),
      threshold: compiled.rule.threshold,
      evaluatedDatapoints: [...decision.evaluated].reverse().map((p) => ({
        timestamp: cloudWatchTime(p.timestamp),
        ...(p.value === undefined ? {} : { value: p.value }),
      })),
    });
    const state: AlarmState = {
      value: decision.state,
      reason: decision.reason,
      reasonData,
      timestamp: cloudWatchTime(now),
    };
    const transition: AlarmTransition = {
      alarmName: record.definition.name,
      from: record.state.value,
      to: state.value,
      state,
      previousState: record.state,
      detectedAt: now,
      deliveries: [],
      notifications: [],
    };
    record.state = state;
    record.history.push(transition);
    return transition;
  }

  /** Logs the change (unless summarised), puts its event on the bus and runs the actions of the new state. */
  private async announce(record: AlarmRecord, transition: AlarmTransition, logLine: boolean): Promise<void> {
    const { definition, compiled } = record;
    const { log } = this.options;
    if (logLine) {
      log.line(
        'alarm',
        `${definition.name} ${transition.from} → ${transition.to}: ${transition.state.reason}`,
      );
    }
    const previous = transition.previousState;
    try {
      const result = await this.options.putEvent({
        source: 'aws.cloudwatch',
        'detail-type': 'CloudWatch Alarm State Change',
        resources: [definition.arn],
        time: new Date(transition.detectedAt),
        detail: {
          alarmName: definition.name,
          state: transition.state,
          previousState: previous,
          configuration: {
            ...(definition.description === undefined ? {} : { description: definition.description }),
            metrics: compiled!.eventMetrics,
          },
        },
      });
      transition.event = result.event;
      transition.deliveries.push(...result.deliveries);
      transition.deliveredAt = this.now();
    } catch (error) {
      log.line('alarm', `${definition.name}: state-change event not put: ${(error as Error).message}`);
    }
    if (definition.actionsEnabled) this.runActions(record, transition, previous);
  }

  private runActions(record: AlarmRecord, transition: AlarmTransition, previous: AlarmState): void {
    const { definition, compiled } = record;
    const actions = {
      ALARM: definition.alarmActions,
      OK: definition.okActions,
      INSUFFICIENT_DATA: definition.insufficientDataActions,
    }[transition.to];
    if (actions.length === 0) return;
    const region = REGION_NAMES[this.options.region] ?? this.options.region;
    const message = JSON.stringify({
      AlarmName: definition.name,
      AlarmDescription: definition.description ?? null,
      AWSAccountId: this.options.account,
      AlarmConfigurationUpdatedTimestamp: this.configurationUpdated,
      NewStateValue: transition.to,
      NewStateReason: transition.state.reason,
      StateChangeTime: transition.state.timestamp,
      Region: region,
      AlarmArn: definition.arn,
      OldStateValue: previous.value,
      OKActions: definition.okActions,
      AlarmActions: definition.alarmActions,
      InsufficientDataActions: definition.insufficientDataActions,
      Trigger: compiled!.trigger,
    });
    const subject = notificationSubject(transition.to, definition.name, region);
    for (const action of actions) {
      if (!action.startsWith('arn:aws:sns:')) {
        this.options.log.line(
          'alarm',
          `${definition.name}: action ${action} is not run locally (SNS actions are)`,
        );
        continue;
      }
      try {
        transition.notifications.push(this.options.publish({ topicArn: action, subject, message }));
      } catch (error) {
        this.options.log.line(
          'alarm',
          `${definition.name}: could not notify ${action}: ${(error as Error).message}`,
        );
      }
    }
  }
}
