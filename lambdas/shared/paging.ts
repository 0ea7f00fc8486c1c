/**
 * The page sizes of a paged listing (versions, runs, audit), for the API's query schema and the registry's
 * check alike. Kept apart from `api-schemas.ts`, so the registry, which every function loads, does not
 * build the API's zod schemas in the pipeline's containers, which never serve the API (bench/RESULTS.md,
 * #15).
 */

/** Most items one page of a listing (versions, runs, audit) holds. */
export const MAX_PAGE_SIZE = 100;
/** Items per page when the request does not say. */
export const DEFAULT_PAGE_SIZE = 20;
