#!/usr/bin/env node
const [major] = process.versions.node.split('.').map(Number);
if (major < 22) {
  console.error(
    `driftline needs Node.js 22 or newer (this is ${process.version}); run it as "npx driftline" so the project's pinned Node 22 is used.`,
  );
  process.exit(2);
}
await import('./cli.ts');
