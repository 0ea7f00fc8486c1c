/**
 * zod parse options for a value a Lambda parses about once per invocation: a pipeline step's input, the
 * run's spec, an alarm event. They turn zod's JIT off for that parse. With it on, the first parse of each
 * object schema compiles a fast path (`new Function`), which pays off over thousands of parses of the same
 * schema (predict's request bodies keep it) but not over the handful a step makes: in a cold container the
 * compilation was most of each first parse (a spec's 13.2 ms against 4.9 jitless, a step input's 4.0 ms
 * against 1.7, at load 13-15), and every step container starts cold after a deploy or a long idle. Later
 * parses take the same time either way (bench/RESULTS.md, #15).
 * @example schema.safeParse(input, PARSE_ONCE)
 */
export const PARSE_ONCE = { jitless: true } as const;
