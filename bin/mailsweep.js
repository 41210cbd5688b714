#!/usr/bin/env node
// Entry point of the `mailsweep` command. It runs the compiled code, so run `npm run build` first.
import { existsSync } from 'node:fs';

const entry = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('mailsweep: not built yet; run `npm run build` in the mailsweep folder first\n');
  process.exit(2);
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
