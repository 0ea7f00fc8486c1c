/**
 * The banner every ESM function bundle starts with, on AWS (`DriftlineFunction`) and in the local runtime
 * (`local/bundle.ts`): CommonJS dependencies bundled into an ESM file call `require`, and esbuild's shim
 * looks for a global one. The import is aliased because esbuild does not see the banner: a bundled module
 * that imports `createRequire` itself (the pages function does) would otherwise declare it twice, a
 * SyntaxError that kills the function at load.
 * @see https://docs.powertools.aws.dev/lambda/typescript/latest/getting-started/usage-patterns/#esm
 */
export const ESM_REQUIRE_BANNER =
  "import { createRequire as __driftlineCreateRequire } from 'node:module'; const require = __driftlineCreateRequire(import.meta.url);";
