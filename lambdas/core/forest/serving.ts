/**
 * Which layout prediction walks for a forest: the packed one (`packed.ts`) when the forest fits it, the
 * two-word one (`layout.ts`) otherwise, and for forests decoded from format version 1.
 */
import { buildLayout, type ServingLayout } from './layout.ts';
import { buildPacked, type PackedLayout } from './packed.ts';
import type { FlatForest } from './types.ts';

/** A forest's serving layout, either kind. */
export type AnyLayout = ServingLayout | PackedLayout;

/**
 * Layouts by forest. A forest's node arrays are never changed once it exists (every engine, merge and the
 * format build new forests), so a layout built once stays true.
 */
const layouts = new WeakMap<FlatForest, AnyLayout>();

/**
 * The forest's serving layout, built on first use and kept as long as the forest.
 *
 * @throws RangeError for a forest with a NaN threshold (no engine makes one from finite data) or more
 *   than 2^31 − 1 nodes or thresholds.
 */
export function servingLayout(forest: FlatForest): AnyLayout {
  let layout = layouts.get(forest);
  if (layout === undefined) {
    layout = buildPacked(forest) ?? buildLayout(forest);
    layouts.set(forest, layout);
  }
  return layout;
}

/** Records the layout a forest was loaded with (the file format stores it as is, or nearly). */
export function rememberLayout(forest: FlatForest, layout: AnyLayout): void {
  layouts.set(forest, layout);
}
