/**
 * Local Step Functions: executions of the template's state machines on `aws-local-stepfunctions`, each
 * `Task` state (also inside Map item processors and Parallel branches) bound to its local function by the
 * state's resolved `Resource` ARN. A failed task surfaces as an error named after the handler's error type,
 * with the Lambda error payload as JSON in its cause, so the definition's `Retry`/`Catch` behave as on AWS.
 *
 * Keeps an in-memory execution table (status, input, output, error, history) and prints each state a
 * person watching the console cares about.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { ExecutionAbortedError, ExecutionTimeoutError, StateMachine } from 'aws-local-stepfunctions';
import type { InvokeResult } from './functions.ts';
import { formatDuration, type LogSink } from './log.ts';
import type { LocalStateMachine } from './template.ts';

/** One event of an execution's history (the library does not export the type). */
export type EventLog =
  ReturnType<StateMachine['run']>['eventLogs'] extends AsyncGenerator<infer E> ? E : never;

/** Step Functions' cap on the data a state passes on (256 KB). */
export const STATE_PAYLOAD_LIMIT_BYTES = 256 * 1024;

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

/** One execution, as `DescribeExecution` reports it, plus its event history. */
export interface ExecutionRecord {
  executionArn: string;
  name: string;
  stateMachineArn: string;
  status: ExecutionStatus;
  input: unknown;
  output?: unknown;
  error?: string;
  cause?: string;
  startDate: Date;
  stopDate?: Date;
  /** The execution's events (state entered/exited/failed/retried/caught, map iterations, …). */
  history: EventLog[];
}

/** A definition the local runtime cannot run (an integration other than Lambda, …). */
export class UnsupportedDefinitionError extends Error {
  override readonly name = 'UnsupportedDefinitionError';
}

/** `ExecutionAlreadyExists`, `ExecutionDoesNotExist`, `StateMachineDoesNotExist`, `InvalidName`. */
export class StepFunctionsError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

/** Invokes a function by ARN (the function host's `invoke`). */
export type InvokeFn = (functionArn: string, payload: unknown) => Promise<InvokeResult>;

/** Options of {@link StepFunctions}. */
export interface StepFunctionsOptions {
  machines: readonly LocalStateMachine[];
  invoke: InvokeFn;
  log: LogSink;
  /** Waits between retries, in ms, instead of the definition's intervals (for tests). @default as written */
  retryIntervalMs?: number;
  /** How long every `Wait` state waits, in ms, instead of its definition (for tests). @default as written */
  waitStateMs?: number;
}

type TaskHandler = (input: unknown) => Promise<unknown>;

interface StateVisit {
  name: string;
  state: Record<string, unknown>;
}

/** Every state of a definition, nested ones (Map item processors, Parallel branches) included. */
export function walkStates(definition: Record<string, unknown>): StateVisit[] {
  const states = (definition.States ?? {}) as Record<string, Record<string, unknown>>;
  return Object.entries(states).flatMap(([name, state]) => {
    const nested = [
      state.ItemProcessor,
      state.Iterator,
      ...((state.Branches as unknown[] | undefined) ?? []),
    ].filter((child): child is Record<string, unknown> => typeof child === 'object' && child !== null);
    return [{ name, state }, ...nested.flatMap(walkStates)];
  });
}

const LAMBDA_ARN = /^arn:aws[\w-]*:lambda:[^:]+:\d+:function:[^:]+(:[^:]+)?$/;
const LAMBDA_INVOKE = 'arn:aws:states:::lambda:invoke';

/** The error a failed task raises inside the interpreter: named by error type, the payload as cause text. */
function taskError(result: Extract<InvokeResult, { ok: false }>): Error {
  const error = new Error(JSON.stringify(result.error));
  error.name = result.error.errorType;
  return error;
}

function checkStateSize(value: unknown, stateName: string): unknown {
  const size = Buffer.byteLength(JSON.stringify(value ?? null));
  if (size > STATE_PAYLOAD_LIMIT_BYTES) {
    const error = new Error(
      `The state/task '${stateName}' returned a result with a size exceeding the maximum number of bytes service limit.`,
    );
    error.name = 'States.DataLimitExceeded';
    throw error;
  }
  return value;
}

/**
 * The local handler of each Task state, keyed by state name as `aws-local-stepfunctions` expects:
 * a Lambda ARN invokes that function with the state's input; `arn:aws:states:::lambda:invoke` invokes
 * `FunctionName` with `Payload` and returns the service integration's result shape.
 * @throws {UnsupportedDefinitionError} for another resource, a callback pattern, or one state name used
 *   for two different resources (the library keys handlers by name).
 */
export function taskHandlers(
  definition: Record<string, unknown>,
  invoke: InvokeFn,
): Record<string, TaskHandler> {
  const handlers: Record<string, TaskHandler> = {};
  const resources = new Map<string, string>();
  for (const { name, state } of walkStates(definition)) {
    if (state.Type !== 'Task') continue;
    const resource = String(state.Resource);
    const seen = resources.get(name);
    if (seen !== undefined && seen !== resource) {
      throw new UnsupportedDefinitionError(`two Task states are named "${name}" with different resources`);
    }
    resources.set(name, resource);
    if (LAMBDA_ARN.test(resource)) {
      handlers[name] = async (input) => {
        const result = await invoke(resource, input);
        if (!result.ok) throw taskError(result);
        return checkStateSize(JSON.parse(result.payload), name);
      };
    } else if (resource === LAMBDA_INVOKE) {
      handlers[name] = async (input) => {
        const { FunctionName, Payload } = (input ?? {}) as { FunctionName?: string; Payload?: unknown };
        if (typeof FunctionName !== 'string')
          throw new UnsupportedDefinitionError(`${name}: lambda:invoke needs FunctionName`);
        const result = await invoke(FunctionName, Payload ?? null);
        if (!result.ok) throw taskError(result);
        return checkStateSize(
          {
            ExecutedVersion: '$LATEST',
            Payload: JSON.parse(result.payload),
            StatusCode: 200,
            SdkHttpMetadata: { HttpStatusCode: 200 },
            SdkResponseMetadata: { RequestId: result.requestId },
          },
          name,
        );
      };
    } else {
      throw new UnsupportedDefinitionError(
        `Task "${name}" uses ${resource}; the local runtime runs Lambda tasks only (a function ARN or lambda:invoke)`,
      );
    }
  }
  return handlers;
}

/**
 * AWS's longest task timeout that a Node.js timer can hold (about 24 days; AWS allows a year). The
 * interpreter would otherwise give a Task without `TimeoutSeconds` 60 s, where AWS waits for the function.
 */
const UNBOUNDED_TASK_SECONDS = Math.floor((2 ** 31 - 1) / 1000);

/** A copy of the definition in which every Task without a timeout waits as long as AWS would. */
export function withTaskTimeouts(definition: Record<string, unknown>): Record<string, unknown> {
  const copy = structuredClone(definition);
  for (const { state } of walkStates(copy)) {
    if (
      state.Type === 'Task' &&
      state.TimeoutSeconds === undefined &&
      state.TimeoutSecondsPath === undefined
    ) {
      state.TimeoutSeconds = UNBOUNDED_TASK_SECONDS;
    }
  }
  return copy;
}

/** The names of states with a `Retry` (overridden when retries are shortened). */
function retryingStates(definition: Record<string, unknown>): string[] {
  return walkStates(definition)
    .filter(({ state }) => Array.isArray(state.Retry))
    .map(({ name }) => name);
}

/** The human part of a cause: a Lambda error payload's message, or the cause as it is. */
function causeText(cause: unknown): string {
  const text = typeof cause === 'string' ? cause : JSON.stringify(cause);
  try {
    const parsed = JSON.parse(text) as { errorMessage?: unknown };
    if (typeof parsed.errorMessage === 'string') return parsed.errorMessage;
  } catch {
    // not JSON: the cause is plain text
  }
  return text;
}

/** The names of `Wait` states (overridden when waits are shortened). */
function waitStates(definition: Record<string, unknown>): string[] {
  return walkStates(definition)
    .filter(({ state }) => state.Type === 'Wait')
    .map(({ name }) => name);
}

/** Every named state's override, or none when no override is asked for. */
function overrides(names: string[], ms: number | undefined): Record<string, number> {
  return ms === undefined ? {} : Object.fromEntries(names.map((name) => [name, ms]));
}

interface Machine {
  spec: LocalStateMachine;
  interpreter: StateMachine;
  handlers: Record<string, TaskHandler>;
  retryOverrides: Record<string, number>;
  waitOverrides: Record<string, number>;
}

/**
 * The state machines of the stack and their executions.
 * @example
 * const sfn = new StepFunctions({ machines: stack.stateMachines, invoke, log });
 * const { name } = sfn.start({ detail: {} });
 * const done = await sfn.wait(name);
 */
export class StepFunctions {
  private readonly machines: Map<string, Machine>;
  private readonly executions = new Map<string, ExecutionRecord>();
  private readonly aborts = new Map<string, () => void>();
  private readonly events = new EventEmitter();
  private readonly log: LogSink;

  /** @throws {UnsupportedDefinitionError} when a definition uses what the local runtime cannot run. */
  constructor(options: StepFunctionsOptions) {
    this.log = options.log;
    this.events.setMaxListeners(0);
    this.machines = new Map(
      options.machines.map((spec) => {
        const machine: Machine = {
          spec,
          interpreter: new StateMachine(withTaskTimeouts(spec.definition) as never),
          handlers: taskHandlers(spec.definition, options.invoke),
          retryOverrides: overrides(retryingStates(spec.definition), options.retryIntervalMs),
          waitOverrides: overrides(waitStates(spec.definition), options.waitStateMs),
        };
        return [spec.arn, machine];
      }),
    );
  }

  /** The state machines, as read from the template. */
  get stateMachines(): LocalStateMachine[] {
    return [...this.machines.values()].map((machine) => machine.spec);
  }

  /**
   * Starts an execution (`StartExecution`).
   * @param stateMachine ARN, name or logical id; the only machine when omitted.
   * @throws {StepFunctionsError} `ExecutionAlreadyExists` for a name in use, `StateMachineDoesNotExist`.
   */
  start(input: unknown, options: { name?: string; stateMachine?: string } = {}): ExecutionRecord {
    const machine = this.machine(options.stateMachine);
    const name = options.name ?? randomUUID();
    if (!/^[^\s<>{}[\]?*"#%\\^|~`$&,;:/]{1,80}$/.test(name)) {
      throw new StepFunctionsError('InvalidName', `"${name}" is not a valid execution name`);
    }
    const executionArn = `${machine.spec.arn.replace(':stateMachine:', ':execution:')}:${name}`;
    if (this.executions.has(executionArn)) {
      throw new StepFunctionsError('ExecutionAlreadyExists', `Execution already exists: '${executionArn}'`);
    }
    const startDate = new Date();
    const record: ExecutionRecord = {
      executionArn,
      name,
      stateMachineArn: machine.spec.arn,
      status: 'RUNNING',
      input,
      startDate,
      history: [],
    };
    this.executions.set(executionArn, record);
    const execution = machine.interpreter.run(input as never, {
      overrides: {
        taskResourceLocalHandlers: machine.handlers as never,
        retryIntervalOverrides: machine.retryOverrides,
        waitTimeOverrides: machine.waitOverrides,
      },
      context: {
        Execution: { Id: executionArn, Name: name, StartTime: startDate.toISOString(), RoleArn: '' },
        StateMachine: { Id: machine.spec.arn, Name: machine.spec.name },
      },
    });
    this.aborts.set(executionArn, execution.abort);
    const prefix = `${machine.spec.label} ${name.slice(0, 8)}`;
    this.log.line(prefix, 'started');
    const followed = this.follow(record, execution.eventLogs, prefix);
    // The status line comes after the last state line: the history is complete once the log closes.
    execution.result
      .then(
        (output): Outcome => ({ status: 'SUCCEEDED', output }),
        (error: Error & { cause?: Error }) => failureOf(error),
      )
      .then(async (outcome) => {
        await followed;
        this.finish(record, prefix, outcome);
      });
    this.events.emit('start', record);
    return record;
  }

  /** Executions, newest first, optionally of one status. */
  list(filter: { status?: ExecutionStatus; stateMachine?: string } = {}): ExecutionRecord[] {
    const arn = filter.stateMachine === undefined ? undefined : this.machine(filter.stateMachine).spec.arn;
    return [...this.executions.values()]
      .filter(
        (e) =>
          (filter.status === undefined || e.status === filter.status) &&
          (arn === undefined || e.stateMachineArn === arn),
      )
      .sort((a, b) => b.startDate.getTime() - a.startDate.getTime());
  }

  /** One execution by ARN or name. @throws {StepFunctionsError} `ExecutionDoesNotExist`. */
  describe(nameOrArn: string): ExecutionRecord {
    const found =
      this.executions.get(nameOrArn) ?? [...this.executions.values()].find((e) => e.name === nameOrArn);
    if (!found)
      throw new StepFunctionsError('ExecutionDoesNotExist', `Execution does not exist: '${nameOrArn}'`);
    return found;
  }

  /**
   * The execution once it has stopped (any status).
   * @throws {StepFunctionsError} `ExecutionDoesNotExist`; an Error when it still runs after `timeoutMs`.
   */
  async wait(nameOrArn: string, timeoutMs = 60_000): Promise<ExecutionRecord> {
    const record = this.describe(nameOrArn);
    if (record.status !== 'RUNNING') return record;
    return this.until('stop', (e) => e === record, timeoutMs, `execution ${record.name} still running`);
  }

  /** The first execution (already started or to come) that satisfies `predicate`. */
  async waitForStart(
    predicate: (e: ExecutionRecord) => boolean,
    timeoutMs = 30_000,
  ): Promise<ExecutionRecord> {
    const existing = this.list().find(predicate);
    if (existing) return existing;
    return this.until('start', predicate, timeoutMs, 'no matching execution started');
  }

  /**
   * Stops a running execution (`StopExecution`): it ends `ABORTED`. Stopping one that already stopped
   * does nothing. @throws {StepFunctionsError} `ExecutionDoesNotExist`.
   */
  stop(nameOrArn: string): void {
    this.aborts.get(this.describe(nameOrArn).executionArn)?.();
  }

  /** Calls `listener` with each execution once it has stopped (any status). */
  onStop(listener: (execution: ExecutionRecord) => void): () => void {
    this.events.on('stop', listener);
    return () => this.events.off('stop', listener);
  }

  /** Aborts every running execution. */
  stopAll(): void {
    for (const abort of this.aborts.values()) abort();
  }

  private until(
    event: 'start' | 'stop',
    predicate: (e: ExecutionRecord) => boolean,
    timeoutMs: number,
    what: string,
  ): Promise<ExecutionRecord> {
    return new Promise((resolve, reject) => {
      const listener = (e: ExecutionRecord) => {
        if (!predicate(e)) return;
        clearTimeout(timer);
        this.events.off(event, listener);
        resolve(e);
      };
      const timer = setTimeout(() => {
        this.events.off(event, listener);
        reject(new Error(`${what} after ${timeoutMs} ms`));
      }, timeoutMs);
      this.events.on(event, listener);
    });
  }

  private machine(nameOrArn?: string): Machine {
    if (nameOrArn === undefined) {
      if (this.machines.size !== 1) {
        throw new StepFunctionsError(
          'StateMachineDoesNotExist',
          `the stack has ${this.machines.size} state machines; name one`,
        );
      }
      return [...this.machines.values()][0];
    }
    const found =
      this.machines.get(nameOrArn) ??
      [...this.machines.values()].find(
        ({ spec }) => spec.name === nameOrArn || spec.logicalId === nameOrArn || spec.label === nameOrArn,
      );
    if (!found)
      throw new StepFunctionsError(
        'StateMachineDoesNotExist',
        `State Machine Does Not Exist: '${nameOrArn}'`,
      );
    return found;
  }

  private finish(record: ExecutionRecord, prefix: string, outcome: Outcome): void {
    Object.assign(record, outcome, { stopDate: new Date() });
    this.aborts.delete(record.executionArn);
    const took = formatDuration(record.stopDate!.getTime() - record.startDate.getTime());
    const why = record.error === undefined ? '' : ` ${record.error}: ${causeText(record.cause)}`;
    this.log.line(prefix, `${record.status} in ${took}${why}`);
    this.events.emit('stop', record);
  }

  /** Records the execution's events and prints the ones a person follows. */
  private async follow(
    record: ExecutionRecord,
    events: AsyncGenerator<EventLog>,
    prefix: string,
  ): Promise<void> {
    const entered = new Map<string, number>();
    const caught = new Set<string>();
    for await (const event of events) {
      record.history.push(event);
      if (!('state' in event)) continue;
      const nested = event.index !== undefined;
      const label = nested ? `  ${event.state.name}[${event.index}]` : event.state.name;
      const key = `${event.state.name}#${event.index ?? ''}`;
      const type = event.state.type;
      switch (event.type) {
        case 'StateEntered':
          entered.set(key, event.timestamp);
          if (type === 'Choice') this.log.line(prefix, `◇ ${label}`);
          else if (type !== 'Succeed' && type !== 'Fail' && type !== 'Pass')
            this.log.line(prefix, `→ ${label}`);
          break;
        case 'StateExited':
          if (caught.delete(key)) break;
          if (type === 'Task' || type === 'Map' || type === 'Parallel') {
            const ms = event.timestamp - (entered.get(key) ?? event.timestamp);
            this.log.line(prefix, `✓ ${label} ${formatDuration(ms)}`);
          }
          break;
        case 'StateFailed':
          this.log.line(prefix, `✗ ${label} ${event.Error}: ${causeText(event.Cause)}`);
          break;
        case 'StateRetried':
          this.log.line(prefix, `↻ ${label} retry ${event.retry.attempt}`);
          break;
        case 'StateCaught':
          caught.add(key);
          this.log.line(prefix, `⤷ ${label} caught → ${event.catch.catcher.Next}`);
          break;
      }
    }
  }
}

/**
 * The "Step Functions Execution Status Change" event Step Functions sends to EventBridge when an execution
 * stops: dates in ms since the epoch, input and output as JSON text, error and cause (null when none).
 */
export function statusChangeEvent(execution: ExecutionRecord): {
  source: 'aws.states';
  'detail-type': 'Step Functions Execution Status Change';
  resources: string[];
  detail: Record<string, unknown>;
} {
  return {
    source: 'aws.states',
    'detail-type': 'Step Functions Execution Status Change',
    resources: [execution.executionArn],
    detail: {
      executionArn: execution.executionArn,
      stateMachineArn: execution.stateMachineArn,
      name: execution.name,
      status: execution.status,
      startDate: execution.startDate.getTime(),
      stopDate: execution.stopDate?.getTime() ?? null,
      input: JSON.stringify(execution.input ?? null),
      output: execution.output === undefined ? null : JSON.stringify(execution.output),
      error: execution.error ?? null,
      cause: execution.cause ?? null,
    },
  };
}

type Outcome = Pick<ExecutionRecord, 'status' | 'output' | 'error' | 'cause'>;

function failureOf(error: Error & { cause?: Error }): Outcome {
  if (error instanceof ExecutionAbortedError) {
    return { status: 'ABORTED', error: 'States.Aborted', cause: 'the execution was stopped' };
  }
  if (error instanceof ExecutionTimeoutError) {
    return {
      status: 'TIMED_OUT',
      error: 'States.Timeout',
      cause: 'the execution ran past its TimeoutSeconds',
    };
  }
  // ExecutionError wraps what failed the run: a Fail state, or a task error nothing caught.
  const failure = error.cause ?? error;
  return { status: 'FAILED', error: failure.name, cause: failure.message };
}
