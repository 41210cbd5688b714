// First-page render time of the web interface over BENCH_ITEMS quarantined items (default
// 100,000) in Azurite, measured in Chromium:
//
//   npm run bench:webui
//
// Seeds the `all` rows of the quarantine index (what an administrator's listing reads), starts the
// local host with the real functions, signs in as the administrator and loads the page
// BENCH_LOADS times (default 10). The page marks `ms-list-request` before it requests the list
// and `ms-list-rendered` once the rows are in the DOM; the script reads those marks, the time from
// navigation start to the rendered rows, and the counts request's resource timing. A Playwright
// trace of the last load goes to test-artifacts/webui/first-page-trace.zip.
// Not a test: figures go to docs/web-ui.md by hand, with the machine.
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { join } from 'node:path';

import { TableClient, type TransactionAction } from '@azure/data-tables';
import pLimit from 'p-limit';

import { startLocalHost } from '../src/functions-host/local-host.js';
import { registeredFunctions } from '../src/functions-host/registry.js';
import { isAllPartition, toIndexEntities } from '../src/quarantine/quarantine-index.js';
import { silentLogger } from '../src/shared/logger.js';
import { STATE_TABLES } from '../src/state/tables.js';
import { ARTIFACTS_FOLDER, findChromium, launchChromium } from '../test/webui/browser-support.js';
import { fakeMetadata } from '../test/webui/index-seeding.js';

const ITEMS = Number(process.env.BENCH_ITEMS ?? 100_000);
const LOADS = Number(process.env.BENCH_LOADS ?? 10);
const BATCH = 100;
const SEED_CONCURRENCY = 2;
/** Attempts per seeding transaction; an upsert batch is safe to send again. */
const SEED_ATTEMPTS = 5;

/**
 * Sends one seeding transaction, again after a dropped connection: Azurite closes idle sockets
 * while a large table keeps other requests waiting, and the client then sees ECONNRESET.
 */
async function submitWithRetry(table: TableClient, actions: TransactionAction[]): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      await table.submitTransaction(actions);
      return;
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (attempt >= SEED_ATTEMPTS || (code !== 'ECONNRESET' && code !== 'ECONNREFUSED')) {
        throw error;
      }
      process.stderr.write(`seeding transaction failed with ${String(code)}, sending it again\n`);
    }
  }
}

async function main(): Promise<void> {
  const connectionString = process.env.MAILSWEEP_QUARANTINE_CONNECTION_STRING;
  const chromiumPath = findChromium();
  if (connectionString === undefined || chromiumPath === undefined) {
    throw new Error('Run through scripts/with-azurite.mjs, with Chromium installed');
  }
  const adminToken = randomBytes(24).toString('hex');
  Object.assign(process.env, { MAILSWEEP_AUTH_MODE: 'local-token', MAILSWEEP_LOCAL_ADMIN_TOKEN: adminToken });

  const table = TableClient.fromConnectionString(connectionString, STATE_TABLES.quarantineIndex, {
    allowInsecureConnection: true,
  });
  await table.createTable();
  const seedStart = performance.now();
  // The items are spread over the last 30 days, the default retention of malware and phishing.
  const spacingMs = (30 * 86_400_000) / ITEMS;
  const base = Date.now() - ITEMS * spacingMs;
  // Several transactions in flight keep Azurite busy while the script builds the next batches.
  const limit = pLimit(SEED_CONCURRENCY);
  const pending: Promise<unknown>[] = [];
  let batch: TransactionAction[] = [];
  for (let i = 0; i < ITEMS; i += 1) {
    const category = (['spam', 'spam', 'phishing', 'malware'] as const)[i % 4] ?? 'spam';
    const item = fakeMetadata(`user${i % 1000}@contoso.com`, category, i, base, spacingMs);
    const all = toIndexEntities(item).find((entity) => isAllPartition(entity.partitionKey));
    // A transaction writes to one partition, so the batch is sent when a row of another begins.
    if (all !== undefined && batch.length > 0 && batch[0]?.[1].partitionKey !== all.partitionKey) {
      const actions = batch;
      batch = [];
      pending.push(limit(() => submitWithRetry(table, actions)));
    }
    if (all !== undefined) batch.push(['upsert', all, 'Replace']);
    if (batch.length === BATCH || i === ITEMS - 1) {
      const actions = batch;
      batch = [];
      pending.push(limit(() => submitWithRetry(table, actions)));
    }
    if ((i + 1) % 10_000 === 0) {
      await Promise.all(pending.splice(0));
      process.stderr.write(`seeded ${i + 1} items in ${((performance.now() - seedStart) / 1000).toFixed(0)} s\n`);
    }
  }
  await Promise.all(pending);
  const seedSeconds = (performance.now() - seedStart) / 1000;

  await import('../functions/quarantine.js');
  await import('../functions/webui.js');
  const http = registeredFunctions().http;
  const host = await startLocalHost({ port: 0, logger: silentLogger, functions: { http, timers: [], queues: [] }, runTimers: false });
  const browser = await launchChromium(chromiumPath);
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await page.goto(`${host.url}/api/ui/`);
  await page.getByLabel('Local token').fill(adminToken);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#items tbody tr').first().waitFor();

  const listMs: number[] = [];
  const fromNavigationMs: number[] = [];
  const countsMs: number[] = [];
  const itemsMs: number[] = [];
  for (let load = 0; load < LOADS; load += 1) {
    if (load === LOADS - 1) await context.tracing.start({ screenshots: true, snapshots: true });
    await page.reload();
    await page.locator('#items tbody tr').first().waitFor();
    await page.locator('#counts button').first().waitFor();
    const timing = (await page.evaluate(`(() => {
      const measure = performance.getEntriesByName('ms-first-page')[0];
      const rendered = performance.getEntriesByName('ms-list-rendered')[0];
      const counts = performance.getEntriesByType('resource').find((entry) => entry.name.endsWith('/api/quarantine/counts'));
      const items = performance.getEntriesByType('resource').find((entry) => entry.name.includes('/api/quarantine/items?'));
      return { list: measure.duration, fromNavigation: rendered.startTime, counts: counts ? counts.duration : -1, items: items ? items.duration : -1 };
    })()`)) as { list: number; fromNavigation: number; counts: number; items: number };
    listMs.push(timing.list);
    fromNavigationMs.push(timing.fromNavigation);
    countsMs.push(timing.counts);
    itemsMs.push(timing.items);
  }
  await context.tracing.stop({ path: join(ARTIFACTS_FOLDER, 'first-page-trace.zip') });
  const rows = await page.locator('#items tbody tr').count();
  await browser.close();
  await host.close();

  const lines = [
    `machine: ${os.cpus().length} x ${os.cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}, Chromium at ${chromiumPath}`,
    `items in the index: ${ITEMS} (seeded in ${seedSeconds.toFixed(1)} s); rows on the first page: ${rows}`,
    `list request to rows rendered (ms-first-page), median of ${LOADS}: ${median(listMs).toFixed(1)} ms, max ${Math.max(...listMs).toFixed(1)} ms`,
    `navigation start to rows rendered, median: ${median(fromNavigationMs).toFixed(1)} ms, max ${Math.max(...fromNavigationMs).toFixed(1)} ms`,
    `list request alone (resource timing), median: ${median(itemsMs).toFixed(1)} ms`,
    `counts request (at most 5,000 rows read), median: ${median(countsMs).toFixed(1)} ms`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:webui failed: ${String(error)}\n`);
  process.exitCode = 1;
});
