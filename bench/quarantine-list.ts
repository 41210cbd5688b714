// Latency of filtered quarantine listings (GET /api/quarantine/items through the real handler,
// audit append included) over an index of BENCH_ITEMS items (default 100,000) in Azurite:
//
//   node scripts/with-azurite.mjs node --import tsx bench/quarantine-list.ts
//
// Only the index table is seeded, in batch transactions, because a listing never reads blobs.
// Not a test: figures go to docs/quarantine-api.md by hand, with the machine.
import { randomBytes } from 'node:crypto';
import os from 'node:os';

import { TableClient, type TransactionAction } from '@azure/data-tables';

import { loadSettings } from '../src/config/settings.js';
import type { ApiRequest } from '../src/functions-host/registry.js';
import { createBlobQuarantineStore } from '../src/quarantine/blob-quarantine-store.js';
import { createQuarantineApi } from '../src/quarantine/quarantine-api.js';
import { QuarantineAuditLog } from '../src/quarantine/quarantine-audit.js';
import { QuarantineIndex, toIndexEntities } from '../src/quarantine/quarantine-index.js';
import type { QuarantineMetadata } from '../src/quarantine/quarantine-types.js';
import type { Category } from '../src/scanning/types.js';
import { silentLogger } from '../src/shared/logger.js';

const ITEMS = Number(process.env.BENCH_ITEMS ?? 100_000);
const MAILBOXES = 1000;
const REQUESTS = 50;
const CATEGORIES: Category[] = ['spam', 'spam', 'spam', 'phishing', 'malware', 'policy'];
/** Entity group transactions take at most 100 operations, all in one partition. */
const BATCH = 100;

const context = { invocationId: 'bench', log: () => undefined };

async function main(): Promise<void> {
  const connectionString = process.env.MAILSWEEP_QUARANTINE_CONNECTION_STRING;
  if (connectionString === undefined) {
    throw new Error('Run through scripts/with-azurite.mjs, which sets the storage connection');
  }
  const table = async (name: string): Promise<TableClient> => {
    const client = TableClient.fromConnectionString(connectionString, name, {
      allowInsecureConnection: true,
    });
    await client.createTable();
    return client;
  };
  const indexTable = await table('benchqindex');
  const index = new QuarantineIndex(indexTable);
  const api = createQuarantineApi({
    store: createBlobQuarantineStore({
      settings: { connectionString, container: 'benchq', retentionDays: 30 },
      logger: silentLogger,
    }),
    index,
    audit: new QuarantineAuditLog(await table('benchqaudit')),
    auth: { kind: 'app-service' },
    limits: loadSettings({}).limits,
  });

  const seedStart = Date.now();
  await seed(indexTable);
  const seedSeconds = ((Date.now() - seedStart) / 1000).toFixed(1);
  process.stdout.write(`seeded ${ITEMS} items in ${seedSeconds} s\n`);

  const admin = principal({ oid: 'bench-admin', roles: ['Mailsweep.Admin'] });
  const user = principal({ oid: 'bench-user', email: mailboxOf(7) });
  const cases: [string, string, string][] = [
    ['admin, no filter', admin, ''],
    ['admin, category=malware', admin, '?category=malware'],
    ['admin, mailbox filter', admin, `?mailbox=${encodeURIComponent(mailboxOf(7))}`],
    ['admin, subject text', admin, '?q=invoice'],
    ['user, own items', user, ''],
    ['user, category=spam', user, '?category=spam'],
  ];
  process.stdout.write(`Node ${process.version}, ${os.cpus().length} x ${os.cpus()[0]?.model}\n`);
  for (const [name, header, query] of cases) {
    const times: number[] = [];
    let count = 0;
    for (let index = 0; index < REQUESTS; index += 1) {
      const started = process.hrtime.bigint();
      const url = `${query}${query === '' ? '?' : '&'}limit=100`;
      const response = await api.list(request(header, url), context);
      times.push(Number(process.hrtime.bigint() - started) / 1e6);
      count = (response.json as { items: unknown[] }).items.length;
    }
    times.sort((a, b) => a - b);
    const median = times[Math.floor(times.length / 2)] ?? 0;
    const p95 = times[Math.floor(times.length * 0.95)] ?? 0;
    const figures = `median ${median.toFixed(1)} ms  p95 ${p95.toFixed(1)} ms`;
    process.stdout.write(`${name.padEnd(28)} items ${String(count).padStart(3)}  ${figures}\n`);
  }
}

function mailboxOf(index: number): string {
  return `user${index}@contoso.com`;
}

/** Writes ITEMS items, newest last, grouped by partition into batch transactions. */
async function seed(table: TableClient): Promise<void> {
  const byPartition = new Map<string, TransactionAction[]>();
  const flush = async (partition: string, force: boolean) => {
    const actions = byPartition.get(partition) ?? [];
    if (actions.length >= BATCH || (force && actions.length > 0)) {
      await table.submitTransaction(actions);
      byPartition.set(partition, []);
    }
  };
  const start = Date.now() - ITEMS * 1000;
  for (let item = 0; item < ITEMS; item += 1) {
    const mailbox = mailboxOf(item % MAILBOXES);
    const category = CATEGORIES[item % CATEGORIES.length] ?? 'spam';
    const quarantinedAt = new Date(start + item * 1000).toISOString();
    const metadata: QuarantineMetadata = {
      id: randomBytes(16).toString('hex'),
      mailbox,
      recipients: [mailbox],
      sender: `sender${item % 97}@fabrikam.com`,
      subject: item % 50 === 0 ? `Invoice ${item}` : `Message ${item}`,
      size: 2048,
      sha256: randomBytes(32).toString('hex'),
      verdict: { category, action: 'quarantine', findings: [], durationMs: 1 },
      quarantinedAt,
      expiresAt: new Date(Date.parse(quarantinedAt) + 30 * 86_400_000).toISOString(),
    };
    for (const entity of toIndexEntities(metadata)) {
      const actions = byPartition.get(entity.partitionKey) ?? [];
      actions.push(['upsert', entity, 'Replace']);
      byPartition.set(entity.partitionKey, actions);
      await flush(entity.partitionKey, false);
    }
  }
  for (const partition of byPartition.keys()) {
    await flush(partition, true);
  }
}

function principal(caller: { oid: string; email?: string; roles?: string[] }): string {
  const claims = [{ typ: 'oid', val: caller.oid }];
  if (caller.email !== undefined) {
    claims.push({ typ: 'preferred_username', val: caller.email });
  }
  for (const role of caller.roles ?? []) {
    claims.push({ typ: 'roles', val: role });
  }
  return Buffer.from(JSON.stringify({ auth_typ: 'aad', claims })).toString('base64');
}

function request(header: string, query: string): ApiRequest {
  return {
    method: 'GET',
    url: new URL(`http://127.0.0.1/api/quarantine/items${query}`),
    headers: new Headers({ 'x-ms-client-principal': header }),
    params: {},
    body: Buffer.alloc(0),
  };
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exitCode = 1;
});
