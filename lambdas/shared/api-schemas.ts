/**
 * The API's request and response shapes, as zod schemas: the predict handler validates with them, and
 * the OpenAPI document (and API Gateway's request model) is generated from the same schemas.
 */
import { z } from 'zod';

/** Most instances one request may carry (API Gateway's payload limit comes first for wide rows). */
export const MAX_INSTANCES = 1000;

export const forecastInstanceSchema = z
  .strictObject({
    history: z
      .array(z.number())
      .min(1)
      .max(10_000)
      .describe('Recent values of the series, oldest first; at least the model’s history length.'),
    lastMonth: z
      .string()
      .regex(/^\d{4}-(0[1-9]|1[0-2])$/)
      .optional()
      .describe('Month of the last history value (YYYY-MM); only models that use the month of year need it.'),
  })
  .describe('A forecast instance: the next value after `history` is predicted.');

export const tabularInstanceSchema = z
  .record(z.string(), z.union([z.number(), z.string(), z.null()]))
  .describe('A tabular instance: feature name → value. Missing numbers take the training median.');

export const predictRequestSchema = z
  .strictObject({
    instances: z
      .array(z.union([forecastInstanceSchema, tabularInstanceSchema]))
      .min(1)
      .max(MAX_INSTANCES)
      .describe(`1 to ${MAX_INSTANCES} instances to predict.`),
  })
  .describe('A prediction request.');

export type PredictRequest = z.infer<typeof predictRequestSchema>;

/** The first problem of a failed parse as one line naming its path. */
export function describeZodError(error: z.ZodError): string {
  const issue = error.issues[0];
  const path = issue.path.length ? issue.path.join('.') : 'body';
  return `${path}: ${issue.message}`;
}
