#!/usr/bin/env node
// The package's `glidekey` command (`npx glidekey ...` in a checkout, or on PATH once installed): runs the built CLI.
import { existsSync } from 'node:fs';

const cli = new URL('../dist/cli.js', import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write('glidekey: the CLI is not built: run `npm run build` in the checkout first\n');
  process.exit(1);
}
await import(cli.href);
