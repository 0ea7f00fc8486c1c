/**
 * Named errors. The state machine's `Retry` and `Catch` match them by `name` (set explicitly: bundling
 * minifies class names), and the API maps them to status codes in one place (`httpStatusOf`).
 */

/** A problem worth retrying (throttling, a lost race on a conditional write, a dependency briefly down). */
export class TransientError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'TransientError';
  }
}

/** A data drop that fails validation: the run ends failed with this message; nothing is retried. */
export class InvalidDataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidDataError';
  }
}

/**
 * A step's input that does not fit the pipeline contract (`shared/contract.ts`): a state machine and
 * functions from different versions, or an execution started by hand with a wrong input. Retrying cannot
 * help, so the state machine never does: the run ends failed with this message.
 */
export class StepInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StepInputError';
  }
}

/**
 * A run that waited longer than its budget for the model's run lease (another run held it throughout):
 * the run fails with this, naming the holder; its drop is still in the bucket.
 */
export class RunLeaseTimeoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RunLeaseTimeoutError';
  }
}

/**
 * A step of a run that had already ended when the step began: its execution was stopped (Step Functions
 * does not stop a Lambda in flight) or recovery marked it interrupted and settled its drop. The step does
 * no work for it; the run record keeps the end it has.
 */
export class RunEndedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RunEndedError';
  }
}

/** A missing environment variable or a malformed one: fails the cold start, naming the variable. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** An error the API shows to the caller as it is, with its status code. */
export class HttpError extends Error {
  readonly statusCode: number;
  constructor(statusCode: number, message: string, name = 'HttpError') {
    super(message);
    this.statusCode = statusCode;
    this.name = name;
  }
}

export class BadRequestError extends HttpError {
  constructor(message: string) {
    super(400, message, 'BadRequestError');
  }
}

export class NotFoundError extends HttpError {
  constructor(message: string) {
    super(404, message, 'NotFoundError');
  }
}

export class ConflictError extends HttpError {
  constructor(message: string) {
    super(409, message, 'ConflictError');
  }
}

/**
 * A model that cannot serve right now, for a reason the client is told (503): its artifact was refused
 * (the bytes do not match the sha256 the registry recorded, or are not an artifact).
 */
export class ModelUnavailableError extends HttpError {
  constructor(message: string) {
    super(503, message, 'ModelUnavailableError');
  }
}

/** Status code for an error at the API: its own for `HttpError`s and the core's input errors, else 500. */
export function httpStatusOf(error: unknown): number {
  if (error instanceof HttpError) return error.statusCode;
  if (
    error instanceof Error &&
    ['InstanceError', 'ServingInputError', 'SpecError', 'CsvError'].includes(error.name)
  )
    return 400;
  return 500;
}
