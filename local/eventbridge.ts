/**
 * Local EventBridge: the event-pattern language, rule targets with `Input`/`InputPath`/`InputTransformer`,
 * schedule rules (`rate(...)` and simple `cron(...)`), and S3 notification records turned into the
 * `Object Created` / `Object Deleted` events S3 sends to EventBridge.
 *
 * @see https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-content-based-filtering.html
 * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/ev-events.html
 */
import { randomUUID } from 'node:crypto';
import type { LogSink } from './log.ts';

/** An event as EventBridge delivers it to targets. */
export interface EventBridgeEvent {
  version: '0';
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: unknown;
}

/** What a caller puts on the bus (`PutEvents` entry); the bus fills in id, time, account and region. */
export interface PutEventInput {
  source: string;
  'detail-type': string;
  detail?: unknown;
  resources?: string[];
  time?: string | Date;
  id?: string;
}

/** An event pattern (the JSON of a rule's `EventPattern`). */
export type EventPattern = Record<string, unknown>;

/** An event pattern that EventBridge would refuse, with the path of the offending field. */
export class EventPatternError extends Error {
  override readonly name = 'EventPatternError';
}

/** A schedule expression that is malformed, or uses cron features the local runtime does not run. */
export class ScheduleExpressionError extends Error {
  override readonly name = 'ScheduleExpressionError';
}

type Leaf = string | number | boolean | null;
type LeafTest = (values: Leaf[]) => boolean;
type EventTest = (event: unknown) => boolean;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isLeaf(value: unknown): value is Leaf {
  return value === null || ['string', 'number', 'boolean'].includes(typeof value);
}

/**
 * The leaf values at `keys` in `node`, arrays flattened at every level: EventBridge matches
 * `detail.items.name` against the names of all items.
 */
function leavesAt(node: unknown, keys: readonly string[], depth = 0): Leaf[] {
  if (Array.isArray(node)) return node.flatMap((element) => leavesAt(element, keys, depth));
  if (depth === keys.length) return isLeaf(node) ? [node] : [];
  if (!isRecord(node) || !Object.hasOwn(node, keys[depth])) return [];
  return leavesAt(node[keys[depth]], keys, depth + 1);
}

const where = (path: readonly string[]) => (path.length === 0 ? 'the pattern' : `"${path.join('.')}"`);

function stringsOf(value: unknown, path: readonly string[], operator: string): string[] {
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0 || !list.every((item) => typeof item === 'string')) {
    throw new EventPatternError(`${where(path)}: ${operator} takes a string or a non-empty array of strings`);
  }
  return list as string[];
}

/** `*` matches any run of characters, `\*` a literal star; everything else is literal. */
function wildcardRegExp(glob: string): RegExp {
  const body = glob
    .split(/(\\\*|\*)/)
    .map((part) =>
      part === '*' ? '.*' : part === '\\*' ? '\\*' : part.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'),
    )
    .join('');
  return new RegExp(`^${body}$`, 's');
}

function ipv4ToNumber(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return undefined;
  return parts.reduce((acc, p) => acc * 256 + Number(p), 0);
}

function cidrTest(range: unknown, path: readonly string[]): (value: string) => boolean {
  const match = typeof range === 'string' ? /^([\d.]+)\/(\d{1,2})$/.exec(range) : null;
  const base = match ? ipv4ToNumber(match[1]) : undefined;
  const bits = match ? Number(match[2]) : Number.NaN;
  if (base === undefined || !(bits >= 0 && bits <= 32)) {
    throw new EventPatternError(
      `${where(path)}: cidr takes an IPv4 range like "10.0.0.0/24", got ${JSON.stringify(range)}`,
    );
  }
  const size = 2 ** (32 - bits);
  const start = Math.floor(base / size) * size;
  return (value) => {
    const ip = ipv4ToNumber(value.replace(/^::ffff:/, ''));
    return ip !== undefined && ip >= start && ip < start + size;
  };
}

const NUMERIC_OPERATORS: Record<string, (a: number, b: number) => boolean> = {
  '<': (a, b) => a < b,
  '<=': (a, b) => a <= b,
  '=': (a, b) => a === b,
  '>': (a, b) => a > b,
  '>=': (a, b) => a >= b,
};

function numericTest(spec: unknown, path: readonly string[]): (value: number) => boolean {
  const bad = () =>
    new EventPatternError(
      `${where(path)}: numeric takes [op, number] or [op, number, op, number], ops < <= = > >=`,
    );
  if (!Array.isArray(spec) || (spec.length !== 2 && spec.length !== 4)) throw bad();
  const comparisons: ((value: number) => boolean)[] = [];
  for (let i = 0; i < spec.length; i += 2) {
    const compare = NUMERIC_OPERATORS[spec[i] as string];
    const bound = spec[i + 1];
    if (!compare || typeof bound !== 'number' || !Number.isFinite(bound)) throw bad();
    comparisons.push((value) => compare(value, bound));
  }
  return (value) => comparisons.every((test) => test(value));
}

/** A string test from `prefix`/`suffix`/`equals-ignore-case`/`wildcard` operands (also inside anything-but). */
function stringOperatorTest(
  operator: string,
  operand: unknown,
  path: readonly string[],
): (value: string) => boolean {
  if (operator === 'prefix' || operator === 'suffix') {
    const at = operator === 'prefix' ? 'startsWith' : 'endsWith';
    if (isRecord(operand) && Object.keys(operand).join() === 'equals-ignore-case') {
      const needles = stringsOf(operand['equals-ignore-case'], path, `${operator}.equals-ignore-case`).map(
        (s) => s.toLowerCase(),
      );
      return (value) => needles.some((needle) => value.toLowerCase()[at](needle));
    }
    const needles = stringsOf(operand, path, operator);
    return (value) => needles.some((needle) => value[at](needle));
  }
  if (operator === 'equals-ignore-case') {
    const needles = stringsOf(operand, path, operator).map((s) => s.toLowerCase());
    return (value) => needles.includes(value.toLowerCase());
  }
  if (operator === 'wildcard') {
    const patterns = stringsOf(operand, path, operator).map(wildcardRegExp);
    return (value) => patterns.some((re) => re.test(value));
  }
  throw new EventPatternError(`${where(path)}: unknown matcher "${operator}"`);
}

function anythingButTest(operand: unknown, path: readonly string[]): LeafTest {
  if (isRecord(operand)) {
    const [operator, ...others] = Object.keys(operand);
    if (operator === undefined || others.length > 0) {
      throw new EventPatternError(
        `${where(path)}: anything-but takes one matcher, got ${JSON.stringify(operand)}`,
      );
    }
    const inner = stringOperatorTest(operator, operand[operator], path);
    return (values) => values.some((v) => typeof v === 'string' && !inner(v));
  }
  const excluded = Array.isArray(operand) ? operand : [operand];
  if (excluded.length === 0 || !excluded.every((v) => typeof v === 'string' || typeof v === 'number')) {
    throw new EventPatternError(
      `${where(path)}: anything-but takes strings or numbers, got ${JSON.stringify(operand)}`,
    );
  }
  return (values) =>
    values.some((v) => (typeof v === 'string' || typeof v === 'number') && !excluded.includes(v));
}

function leafTest(matcher: unknown, path: readonly string[]): LeafTest {
  if (isLeaf(matcher)) return (values) => values.some((v) => v === matcher);
  if (!isRecord(matcher)) {
    throw new EventPatternError(
      `${where(path)}: a matcher is a value or an object, got ${JSON.stringify(matcher)}`,
    );
  }
  const [operator, ...others] = Object.keys(matcher);
  if (operator === undefined || others.length > 0) {
    throw new EventPatternError(
      `${where(path)}: a matcher object has exactly one key, got ${JSON.stringify(matcher)}`,
    );
  }
  const operand = matcher[operator];
  switch (operator) {
    case 'exists':
      if (typeof operand !== 'boolean')
        throw new EventPatternError(`${where(path)}: exists takes true or false`);
      return (values) => values.length > 0 === operand;
    case 'anything-but':
      return anythingButTest(operand, path);
    case 'numeric': {
      const test = numericTest(operand, path);
      return (values) => values.some((v) => typeof v === 'number' && test(v));
    }
    case 'cidr': {
      const test = cidrTest(operand, path);
      return (values) => values.some((v) => typeof v === 'string' && test(v));
    }
    default: {
      const test = stringOperatorTest(operator, operand, path);
      return (values) => values.some((v) => typeof v === 'string' && test(v));
    }
  }
}

function compileObject(pattern: Record<string, unknown>, path: readonly string[]): EventTest {
  const entries = Object.entries(pattern);
  if (entries.length === 0) throw new EventPatternError(`${where(path)} is empty`);
  const tests = entries.map(([key, value]): EventTest => {
    if (key === '$or') {
      if (!Array.isArray(value) || value.length < 2 || !value.every(isRecord)) {
        throw new EventPatternError(`${where(path)}: $or takes an array of at least two patterns`);
      }
      const alternatives = value.map((alternative) => compileObject(alternative, path));
      return (event) => alternatives.some((test) => test(event));
    }
    const fieldPath = [...path, key];
    if (Array.isArray(value)) {
      if (value.length === 0)
        throw new EventPatternError(`${where(fieldPath)}: an empty array matches nothing`);
      const matchers = value.map((matcher) => leafTest(matcher, fieldPath));
      return (event) => {
        const values = leavesAt(event, fieldPath);
        return matchers.some((test) => test(values));
      };
    }
    if (isRecord(value)) return compileObject(value, fieldPath);
    throw new EventPatternError(
      `${where(fieldPath)} must be an object or an array, got ${JSON.stringify(value)}`,
    );
  });
  return (event) => tests.every((test) => test(event));
}

/**
 * Compiles an event pattern into a predicate, validating it the way EventBridge does. Supports exact values
 * (arrays are OR), `prefix`, `suffix` (both also with `equals-ignore-case`), `anything-but` (values,
 * `prefix`, `suffix`, `equals-ignore-case`, `wildcard`), `numeric`, `exists`, `equals-ignore-case`,
 * `wildcard`, IPv4 `cidr`, nested objects, `$or`; arrays in the event match when any element matches.
 * @throws {EventPatternError} naming the field when the pattern is invalid.
 * @example compilePattern({ source: ['aws.s3'], detail: { object: { key: [{ prefix: 'incoming/' }] } } })(event)
 */
export function compilePattern(pattern: EventPattern): (event: unknown) => boolean {
  if (!isRecord(pattern)) throw new EventPatternError('an event pattern must be a JSON object');
  return compileObject(pattern, []);
}

/** Whether `event` matches `pattern` (compiles the pattern on each call: compile once for hot paths). */
export function matchesPattern(pattern: EventPattern, event: unknown): boolean {
  return compilePattern(pattern)(event);
}

// --- targets ------------------------------------------------------------------------------------

/** A rule's target as the template describes it, ARN resolved. */
export interface RuleTarget {
  id: string;
  arn: string;
  /** Constant JSON text sent instead of the event. */
  input?: string;
  /** JSONPath of the part of the event to send. */
  inputPath?: string;
  inputTransformer?: { inputPathsMap?: Record<string, string>; inputTemplate: string };
}

/** A rule as the template describes it, references resolved. */
export interface EventRule {
  name: string;
  arn: string;
  logicalId?: string;
  eventPattern?: EventPattern;
  scheduleExpression?: string;
  enabled: boolean;
  targets: RuleTarget[];
}

/** A JSONPath outside the simple subset EventBridge uses (`$`, `.field`, `['field']`, `[index]`). */
export class JsonPathError extends Error {
  override readonly name = 'JsonPathError';
}

/**
 * The value at a simple JSONPath (`$.detail.object.key`, `$['detail-type']`, `$.resources[0]`), or
 * undefined when the path does not exist.
 * @throws {JsonPathError} for a path outside that subset.
 */
export function valueAtPath(value: unknown, path: string): unknown {
  if (!path.startsWith('$')) throw new JsonPathError(`JSONPath must start with $, got "${path}"`);
  const step = /\.([^.[\]]+)|\['([^']*)'\]|\["([^"]*)"\]|\[(\d+)\]/y;
  let node: unknown = value;
  let at = 1;
  while (at < path.length) {
    step.lastIndex = at;
    const match = step.exec(path);
    if (!match) throw new JsonPathError(`unsupported JSONPath "${path}" at character ${at}`);
    at = step.lastIndex;
    const key = match[1] ?? match[2] ?? match[3];
    if (key !== undefined) node = isRecord(node) && Object.hasOwn(node, key) ? node[key] : undefined;
    else node = Array.isArray(node) ? node[Number(match[4])] : undefined;
    if (node === undefined) return undefined;
  }
  return node;
}

/**
 * The text of an `InputTemplate` with its `<variable>`s filled: inside a JSON string a variable is inserted
 * as string content, elsewhere as a JSON value (so `{"key": <key>}` gets quotes and `"s3://<bucket>/<key>"`
 * does not). Unknown paths give `null` (or nothing inside a string), as on AWS.
 */
export function renderInputTemplate(template: string, variables: Record<string, unknown>): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < template.length; i++) {
    const char = template[i];
    if (char === '"' && !isEscaped(template, i)) inString = !inString;
    if (char === '<') {
      const end = template.indexOf('>', i);
      const name = end > i ? template.slice(i + 1, end) : '';
      if (/^[A-Za-z0-9_.-]+$/.test(name) && Object.hasOwn(variables, name)) {
        const value = variables[name];
        if (inString) {
          const text = typeof value === 'string' ? value : value === undefined ? '' : JSON.stringify(value);
          out += JSON.stringify(text).slice(1, -1);
        } else {
          out += value === undefined ? 'null' : JSON.stringify(value);
        }
        i = end;
        continue;
      }
    }
    out += char;
  }
  return out;
}

function isEscaped(text: string, index: number): boolean {
  let slashes = 0;
  for (let i = index - 1; i >= 0 && text[i] === '\\'; i--) slashes++;
  return slashes % 2 === 1;
}

/**
 * The input text a target receives for `event`: the event itself, the target's constant `Input`, the part
 * at `InputPath`, or the rendered `InputTransformer` template.
 */
export function targetInput(event: EventBridgeEvent, target: RuleTarget, rule: EventRule): string {
  if (target.input !== undefined) return target.input;
  if (target.inputPath !== undefined) return JSON.stringify(valueAtPath(event, target.inputPath) ?? null);
  if (target.inputTransformer) {
    const variables: Record<string, unknown> = {
      'aws.events.rule-arn': rule.arn,
      'aws.events.rule-name': rule.name,
      'aws.events.event': event,
      'aws.events.event.json': event,
      'aws.events.event.ingestion-time': event.time,
    };
    for (const [name, path] of Object.entries(target.inputTransformer.inputPathsMap ?? {})) {
      variables[name] = valueAtPath(event, path);
    }
    return renderInputTemplate(target.inputTransformer.inputTemplate, variables);
  }
  return JSON.stringify(event);
}

// --- schedules ----------------------------------------------------------------------------------

/** A parsed schedule expression. */
export type Schedule = { kind: 'rate'; everyMs: number } | { kind: 'cron'; matches: (date: Date) => boolean };

const RATE_UNITS: Record<string, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };
const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const WEEKDAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

/** The set of values a cron field allows, or undefined for `*`/`?` (any). */
function cronField(
  field: string,
  min: number,
  max: number,
  names: string[] = [],
  nameBase = min,
): Set<number> | undefined {
  if (field === '*' || field === '?') return undefined;
  if (/[LW#]/.test(field)) {
    throw new ScheduleExpressionError(
      `cron field "${field}" uses L, W or #, which the local runtime does not run`,
    );
  }
  const numberOf = (text: string) => {
    const named = names.indexOf(text.toUpperCase());
    const value = named >= 0 ? named + nameBase : Number(text);
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new ScheduleExpressionError(`cron value "${text}" is outside ${min}-${max}`);
    }
    return value;
  };
  const allowed = new Set<number>();
  for (const part of field.split(',')) {
    const [range, stepText] = part.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1)
      throw new ScheduleExpressionError(`cron step "${part}" is invalid`);
    const [fromText, toText] = range === '*' ? [String(min), String(max)] : range.split('-');
    const from = numberOf(fromText);
    const to = toText === undefined ? (stepText === undefined ? from : max) : numberOf(toText);
    for (let v = from; v <= to; v += step) allowed.add(v);
  }
  return allowed;
}

/**
 * Parses `rate(n minute|minutes|hour|hours|day|days)` and EventBridge's six-field
 * `cron(minutes hours day-of-month month day-of-week year)` (UTC; day-of-week 1-7 = SUN-SAT;
 * `*`, `?`, lists, ranges, steps and names).
 * @throws {ScheduleExpressionError} for malformed expressions and for `L`, `W` and `#`.
 * @example parseSchedule('rate(5 minutes)') // { kind: 'rate', everyMs: 300000 }
 */
export function parseSchedule(expression: string): Schedule {
  const rate = /^rate\(\s*(\d+)\s+(minute|hour|day)s?\s*\)$/.exec(expression.trim());
  if (rate) {
    const count = Number(rate[1]);
    if (count < 1) throw new ScheduleExpressionError(`rate must be at least 1, got "${expression}"`);
    return { kind: 'rate', everyMs: count * RATE_UNITS[rate[2]] };
  }
  const cron = /^cron\((.*)\)$/.exec(expression.trim());
  if (!cron) throw new ScheduleExpressionError(`"${expression}" is neither rate(...) nor cron(...)`);
  const fields = cron[1].trim().split(/\s+/);
  if (fields.length !== 6) {
    throw new ScheduleExpressionError(
      `cron needs 6 fields (min hour day month weekday year), got "${cron[1]}"`,
    );
  }
  const [minutes, hours, days, months, weekdays, years] = [
    cronField(fields[0], 0, 59),
    cronField(fields[1], 0, 23),
    cronField(fields[2], 1, 31),
    cronField(fields[3], 1, 12, MONTHS, 1),
    cronField(fields[4], 1, 7, WEEKDAYS, 1),
    cronField(fields[5], 1970, 2199),
  ];
  const has = (set: Set<number> | undefined, value: number) => set === undefined || set.has(value);
  return {
    kind: 'cron',
    matches: (date) =>
      has(minutes, date.getUTCMinutes()) &&
      has(hours, date.getUTCHours()) &&
      has(days, date.getUTCDate()) &&
      has(months, date.getUTCMonth() + 1) &&
      has(weekdays, date.getUTCDay() + 1) &&
      has(years, date.getUTCFullYear()),
  };
}

// --- S3 -----------------------------------------------------------------------------------------

/** An S3 event-notification record (the shape the S3 emulator emits). */
export interface S3NotificationRecord {
  eventName: string;
  eventTime: string;
  requestParameters?: { sourceIPAddress?: string };
  responseElements?: Record<string, string>;
  s3: {
    bucket: { name: string };
    object: { key: string; size?: number; eTag?: string; sequencer?: string; versionId?: string };
  };
}

/** EventBridge time stamps carry whole seconds. */
function eventTime(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}

function createdReason(eventName: string, etag: string | undefined): string {
  if (eventName.endsWith(':Copy')) return 'CopyObject';
  if (eventName.endsWith(':CompleteMultipartUpload')) return 'CompleteMultipartUpload';
  // The emulator reports both browser POST uploads and multipart completions as "Post"; a multipart ETag
  // carries the part count after a dash.
  if (eventName.endsWith(':Post')) return etag?.includes('-') ? 'CompleteMultipartUpload' : 'PostObject';
  return 'PutObject';
}

/**
 * The EventBridge event S3 sends for a notification record: `Object Created` for puts, copies and
 * multipart completions, `Object Deleted` for deletes; undefined for other record kinds.
 * @example s3RecordToEvent(record, { account: '000000000000', region: 'us-east-1' })?.['detail-type'] // 'Object Created'
 */
export function s3RecordToEvent(
  record: S3NotificationRecord,
  where: { account: string; region: string },
): EventBridgeEvent | undefined {
  const created = record.eventName.startsWith('ObjectCreated:');
  const deleted = record.eventName.startsWith('ObjectRemoved:');
  if (!created && !deleted) return undefined;
  const { bucket, object } = record.s3;
  const versionId = object.versionId === undefined ? {} : { 'version-id': object.versionId };
  const common = {
    version: '0',
    bucket: { name: bucket.name },
    'request-id':
      record.responseElements?.['x-amz-request-id'] ?? randomUUID().replaceAll('-', '').slice(0, 16),
    requester: where.account,
    'source-ip-address': (record.requestParameters?.sourceIPAddress ?? '127.0.0.1').replace(/^::ffff:/, ''),
  };
  const detail = created
    ? {
        ...common,
        object: {
          key: object.key,
          size: object.size ?? 0,
          etag: (object.eTag ?? '').replaceAll('"', ''),
          ...versionId,
          sequencer: object.sequencer ?? '',
        },
        reason: createdReason(record.eventName, object.eTag),
      }
    : {
        ...common,
        object: { key: object.key, ...versionId, sequencer: object.sequencer ?? '' },
        reason: 'DeleteObject',
        'deletion-type': 'Permanently Deleted',
      };
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': created ? 'Object Created' : 'Object Deleted',
    source: 'aws.s3',
    account: where.account,
    time: eventTime(new Date(record.eventTime)),
    region: where.region,
    resources: [`arn:aws:s3:::${bucket.name}`],
    detail,
  };
}

// --- the bus ------------------------------------------------------------------------------------

/** Hands a target its input (a state machine execution, an async Lambda invoke, …); says what it did. */
export type DeliverFn = (target: RuleTarget, input: string, rule: EventRule) => Promise<string>;

/** What happened to one target of one matched rule. */
export interface Delivery {
  rule: string;
  target: string;
  /** What the target did (`execution <name>`, `invoked <function>`), when delivery worked. */
  result?: string;
  error?: string;
}

/** An event that was put on the bus and what it led to. */
export interface PutEventResult {
  event: EventBridgeEvent;
  deliveries: Delivery[];
}

/** A `PutEvents` entry the bus refuses. */
export class InvalidEventError extends Error {
  override readonly name = 'InvalidEventError';
}

interface CompiledRule {
  rule: EventRule;
  test?: (event: unknown) => boolean;
  schedule?: Schedule;
}

/** Options of {@link EventBus}. */
export interface EventBusOptions {
  account: string;
  region: string;
  rules: EventRule[];
  deliver: DeliverFn;
  log: LogSink;
}

/**
 * The default event bus: matches each event against the enabled rules' patterns and delivers it to
 * their targets; runs schedule rules on timers once {@link startSchedules} is called.
 */
export class EventBus {
  private readonly rules: CompiledRule[];
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly options: EventBusOptions;

  /** @throws {EventPatternError} / {ScheduleExpressionError} naming the rule whose pattern is invalid. */
  constructor(options: EventBusOptions) {
    this.options = options;
    this.rules = options.rules.map((rule) => {
      try {
        return {
          rule,
          test: rule.eventPattern ? compilePattern(rule.eventPattern) : undefined,
          schedule: rule.scheduleExpression ? parseScheduleOrLog(rule, options.log) : undefined,
        };
      } catch (error) {
        if (error instanceof EventPatternError) error.message = `rule ${rule.name}: ${error.message}`;
        throw error;
      }
    });
  }

  /** Puts one event on the bus and delivers it to every matching rule's targets. */
  async put(input: PutEventInput): Promise<PutEventResult> {
    return this.dispatch(this.eventOf(input));
  }

  /** Delivers an already complete event (e.g. from S3) to every matching rule's targets. */
  async dispatch(event: EventBridgeEvent): Promise<PutEventResult> {
    const matched = this.rules.filter(({ rule, test }) => rule.enabled && test?.(event));
    const deliveries = await Promise.all(matched.flatMap(({ rule }) => this.deliverAll(event, rule)));
    return { event, deliveries };
  }

  /** Fires a schedule rule now, as its timer would. @throws {Error} when no schedule rule has that name. */
  async fireSchedule(ruleName: string): Promise<PutEventResult> {
    const compiled = this.rules.find(({ rule }) => rule.name === ruleName || rule.logicalId === ruleName);
    if (!compiled?.rule.scheduleExpression)
      throw new InvalidEventError(`no schedule rule named "${ruleName}"`);
    const event = this.eventOf({
      source: 'aws.events',
      'detail-type': 'Scheduled Event',
      resources: [compiled.rule.arn],
      detail: {},
    });
    return { event, deliveries: await Promise.all(this.deliverAll(event, compiled.rule)) };
  }

  /** Starts the timers of enabled schedule rules (rate: every period; cron: checked each minute, UTC). */
  startSchedules(): void {
    for (const { rule, schedule } of this.rules) {
      if (!rule.enabled || !schedule) continue;
      const fire = () => void this.fireSchedule(rule.name);
      if (schedule.kind === 'rate') {
        this.timers.add(setInterval(fire, schedule.everyMs).unref());
        this.options.log.line('events', `schedule ${rule.name}: ${rule.scheduleExpression}`);
      } else {
        this.startCron(schedule, fire);
        this.options.log.line('events', `schedule ${rule.name}: ${rule.scheduleExpression} (UTC)`);
      }
    }
  }

  /** Stops every schedule timer. */
  close(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  /** Checks the expression just after each minute boundary, the granularity of EventBridge cron. */
  private startCron(schedule: Extract<Schedule, { kind: 'cron' }>, fire: () => void): void {
    const next = () => {
      const timer = setTimeout(
        () => {
          this.timers.delete(timer);
          if (schedule.matches(new Date())) fire();
          next();
        },
        60_000 - (Date.now() % 60_000) + 5,
      ).unref();
      this.timers.add(timer);
    };
    next();
  }

  private eventOf(input: PutEventInput): EventBridgeEvent {
    if (typeof input.source !== 'string' || input.source === '')
      throw new InvalidEventError('source is required');
    if (typeof input['detail-type'] !== 'string' || input['detail-type'] === '') {
      throw new InvalidEventError('detail-type is required');
    }
    const detail = input.detail ?? {};
    if (!isRecord(detail)) throw new InvalidEventError('detail must be a JSON object');
    return {
      version: '0',
      id: input.id ?? randomUUID(),
      'detail-type': input['detail-type'],
      source: input.source,
      account: this.options.account,
      time: eventTime(input.time === undefined ? new Date() : new Date(input.time)),
      region: this.options.region,
      resources: input.resources ?? [],
      detail,
    };
  }

  private deliverAll(event: EventBridgeEvent, rule: EventRule): Promise<Delivery>[] {
    return rule.targets.map(async (target) => {
      try {
        const result = await this.options.deliver(target, targetInput(event, target, rule), rule);
        return { rule: rule.name, target: target.id, result };
      } catch (error) {
        const message = `${(error as Error).name}: ${(error as Error).message}`;
        this.options.log.line('events', `rule ${rule.name} → ${target.id} failed: ${message}`);
        return { rule: rule.name, target: target.id, error: message };
      }
    });
  }
}

function parseScheduleOrLog(rule: EventRule, log: LogSink): Schedule | undefined {
  try {
    return parseSchedule(rule.scheduleExpression!);
  } catch (error) {
    if (!(error instanceof ScheduleExpressionError)) throw error;
    log.line('events', `schedule ${rule.name} skipped: ${error.message}`);
    return undefined;
  }
}
