#!/usr/bin/env node
// The CLI needs Node 22 (it runs TypeScript natively). The project pins Node 22 as a dev dependency; when
// this file is started by an older system Node (e.g. `npx --prefix`, or a shell alias), re-run it there.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const [major] = process.versions.node.split('.').map(Number);
if (major < 22) {
  const pinned = fileURLToPath(new URL('../node_modules/node/bin/node', import.meta.url));
  if (!existsSync(pinned)) {
    console.error(
      `driftline needs Node.js 22 or newer (this is ${process.version}); run "npm ci" in the driftline folder first.`,
    );
    process.exit(2);
  }
  const result = spawnSync(pinned, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: 'inherit',
  });
  process.exit(result.status ?? 1);
}
await import('./cli.ts');
