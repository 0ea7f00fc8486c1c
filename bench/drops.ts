/**
 * The benchmarks' synthetic regression drops: seeded, so every run writes the same files.
 * `x0..x18` are normal × 10 (the first 5 shifted by `shift`, which the drift gate should see), `y` their sum.
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { seededRandom } from '#core/random.ts';

/** Columns of a drop: 19 features and the target. */
export const COLUMNS = 20;

/** The header: `x0..x18, y`. */
export const COLUMN_NAMES = [...Array.from({ length: COLUMNS - 1 }, (_, i) => `x${i}`), 'y'];

/** Writes `rows` rows of {@link COLUMN_NAMES} to `path`, 5 decimals, from `seed`. */
export async function writeDrop(path: string, rows: number, seed: number, shift = 0): Promise<void> {
  const uniform = seededRandom(seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
  const out = createWriteStream(path);
  const write = async (text: string) => {
    if (!out.write(text)) await once(out, 'drain');
  };
  await write(`${COLUMN_NAMES.join(',')}\n`);
  let block: string[] = [];
  for (let row = 0; row < rows; row++) {
    const cells: string[] = [];
    let sum = 0;
    for (let column = 0; column < COLUMNS - 1; column++) {
      const value = normal() * 10 + (column < 5 ? shift : 0);
      sum += value;
      cells.push(value.toFixed(5));
    }
    cells.push(sum.toFixed(5));
    block.push(cells.join(','));
    if (block.length === 10_000) {
      await write(`${block.join('\n')}\n`);
      block = [];
    }
  }
  if (block.length > 0) await write(`${block.join('\n')}\n`);
  await new Promise<void>((resolve, reject) =>
    out.end((error?: Error | null) => (error ? reject(error) : resolve())),
  );
}
