/**
 * Configuration from the environment, read once at cold start and failing fast with the variable's name.
 */
import { ConfigError } from './errors.ts';

/** The value of a required environment variable. @throws ConfigError naming the variable when unset or empty. */
export function requiredEnv(name: string): string {
  const value = process.env[name];
  if (value === undefined || value.trim() === '') {
    throw new ConfigError(`environment variable ${name} is required but not set`);
  }
  return value;
}

/** A numeric environment variable with a default. @throws ConfigError when set but not a number. */
export function numberEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value))
    throw new ConfigError(`environment variable ${name} must be a number, got "${raw}"`);
  return value;
}

/** An optional environment variable. */
export function optionalEnv(name: string): string | undefined {
  const value = process.env[name];
  return value === undefined || value.trim() === '' ? undefined : value;
}

/** The code version recorded with every model (set at deploy time). */
export function codeVersion(): string {
  return optionalEnv('CODE_VERSION') ?? 'dev';
}
