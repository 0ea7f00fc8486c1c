/**
 * The one way this code talks to DynamoDB with plain JS values: a document client whose numbers survive
 * the round trip whatever their size.
 *
 * DynamoDB stores a number of magnitude 1e-130 to 9.99…e125 (38 significant digits) and refuses any other
 * (`Number underflow` / `Number overflow`); the document client by default also refuses to write any number
 * beyond ±2^53 and reads one back as a BigInt, which JSON cannot serialise. Our records hold numbers no one
 * bounded in advance: a KS p-value of a strongly drifted column (1e-235 for a 0.7 shift over 1,000 rows),
 * a MAPE over labels near zero (1e20), a bootstrap interval. Written as they are, the first made the drift
 * step's run-record write fail, so a drifted drop ended its run on a storage error. So every number is
 * brought into DynamoDB's range before it is marshalled (below the smallest magnitude it is 0, above the
 * largest it is the largest, with its sign: the run record keeps the decision-relevant value, the artifacts
 * in S3 keep the exact one), and numbers come back as JS numbers (a double's precision is what they had).
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/**
 * The largest double within DynamoDB's largest magnitude, 9.9999999999999999999999999999999999999E+125
 * (the literal `9.999999999999999e125` is already the double 1e126, which DynamoDB refuses).
 */
export const DYNAMODB_MAX_MAGNITUDE = 9.999999999999998e125;
/** The smallest non-zero magnitude DynamoDB stores. */
export const DYNAMODB_MIN_MAGNITUDE = 1e-130;

/** `value` brought into DynamoDB's number range (see the module comment); NaN and ±Infinity pass unchanged. */
export function storableNumber(value: number): number {
  if (!Number.isFinite(value)) return value;
  const magnitude = Math.abs(value);
  if (magnitude < DYNAMODB_MIN_MAGNITUDE) return 0;
  if (magnitude > DYNAMODB_MAX_MAGNITUDE) return Math.sign(value) * DYNAMODB_MAX_MAGNITUDE;
  return value;
}

/**
 * A copy of `value` with every number in plain objects, arrays and sets brought into range. Other objects
 * (binary data, class instances) are passed as they are; nothing is copied when nothing changes.
 */
export function withStorableNumbers<T>(value: T): T {
  if (typeof value === 'number') return storableNumber(value) as T;
  if (Array.isArray(value)) {
    const mapped = value.map(withStorableNumbers);
    return (mapped.every((item, index) => item === value[index]) ? value : mapped) as T;
  }
  if (value instanceof Set) {
    const mapped = [...value].map(withStorableNumbers);
    return (mapped.some((item) => !value.has(item)) ? new Set(mapped) : value) as T;
  }
  if (value === null || typeof value !== 'object') return value;
  const prototype = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) return value;
  let changed = false;
  const entries = Object.entries(value).map(([key, item]) => {
    const mapped = withStorableNumbers(item);
    changed ||= mapped !== item;
    return [key, mapped] as const;
  });
  return changed ? (Object.fromEntries(entries) as T) : value;
}

/** The document client every handler and the CLI use over `client`. */
export function documentClient(client: DynamoDBClient): DynamoDBDocumentClient {
  const document = DynamoDBDocumentClient.from(client, {
    marshallOptions: {
      removeUndefinedValues: true,
      convertClassInstanceToMap: true,
      // Numbers beyond ±2^53 are doubles here, not integers someone counted: write them as they are.
      allowImpreciseNumbers: true,
    },
    unmarshallOptions: { wrapNumbers: (text: string) => Number(text) },
  });
  // Runs before the document client's own marshalling (a serialize-step middleware).
  document.middlewareStack.add(
    (next) => (args) => next({ ...args, input: withStorableNumbers(args.input) }),
    { step: 'initialize', name: 'storableNumbers' },
  );
  return document;
}
