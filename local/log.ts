/**
 * The runtime's console: every line a person watching `npm start` sees goes through one sink, prefixed
 * with where it came from (`[predict]`, `[pipeline 1a2b3c4d]`, `[sns alerts]`), and tests silence it.
 */
import { styleText } from 'node:util';

/** Where runtime output goes. `source` is the prefix (a function name, `pipeline <exec>`, `runtime`). */
export interface LogSink {
  line(source: string, text: string): void;
}

/** Options of {@link consoleSink}. */
export interface ConsoleSinkOptions {
  /** Print nothing. @default false */
  readonly quiet?: boolean;
  /** Where lines are written. @default process.stdout */
  readonly stream?: NodeJS.WritableStream & { isTTY?: boolean };
}

const PALETTE = ['cyan', 'magenta', 'yellow', 'green', 'blue', 'red'] as const;

function colourFor(source: string): (typeof PALETTE)[number] {
  let hash = 0;
  for (const char of source.split(' ')[0]) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
  return PALETTE[hash % PALETTE.length];
}

/**
 * A sink writing `[source] text` lines, the prefix coloured per source when the stream is a terminal.
 * @example consoleSink({ quiet: false }).line('predict', 'INFO model loaded')
 */
export function consoleSink(options: ConsoleSinkOptions = {}): LogSink {
  const stream = options.stream ?? process.stdout;
  const coloured = Boolean(stream.isTTY) && !process.env.NO_COLOR;
  return {
    line(source, text) {
      if (options.quiet) return;
      const prefix = `[${source}]`;
      stream.write(`${coloured ? styleText(colourFor(source), prefix) : prefix} ${text}\n`);
    },
  };
}

/** Keys of a Powertools log line that are noise on a console (they are the same on every line). */
const ROUTINE_LOG_KEYS = new Set([
  'level',
  'message',
  'timestamp',
  'service',
  'sampling_rate',
  'xray_trace_id',
  'cold_start',
  'function_arn',
  'function_memory_size',
  'function_name',
  'function_request_id',
]);

/**
 * A function's stdout/stderr line made readable: a structured (Powertools/JSON) log line becomes
 * `LEVEL message {other keys}`, the runtime's `ERROR Invoke Error {payload}` loses its stack trace; anything
 * else is returned as it is.
 * @example formatFunctionLine('{"level":"INFO","message":"loaded","version":3}') // 'INFO loaded {"version":3}'
 */
export function formatFunctionLine(line: string): string {
  const invokeError = /^ERROR Invoke Error (\{.*\})$/.exec(line);
  if (invokeError) {
    try {
      const { errorType, errorMessage } = JSON.parse(invokeError[1]) as {
        errorType: string;
        errorMessage: string;
      };
      return `ERROR Invoke Error ${errorType}: ${errorMessage}`;
    } catch {
      return line;
    }
  }
  if (!line.startsWith('{')) return line;
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return line;
  }
  if (typeof parsed !== 'object' || parsed === null) return line;
  const record = parsed as Record<string, unknown>;
  if (typeof record.level !== 'string' || typeof record.message !== 'string') return line;
  const extra = Object.fromEntries(Object.entries(record).filter(([key]) => !ROUTINE_LOG_KEYS.has(key)));
  const rest = Object.keys(extra).length > 0 ? ` ${JSON.stringify(extra)}` : '';
  return `${record.level.toUpperCase()} ${record.message}${rest}`;
}

/** Milliseconds as a person reads them: `120 ms`, `3.4 s`, `2 min 5 s`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes} min ${Math.round((ms - minutes * 60_000) / 1000)} s`;
}
