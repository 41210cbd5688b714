// Latency of filtered quarantine listings (GET /api/quarantine/items through the real handler,
// audit append included) over an index of BENCH_ITEMS items (default 100,000) in Azurite, and of
// opening one item (preview, download). Run with `npm run bench:quarantine`, or:
//
//   node scripts/with-azurite.mjs node --import tsx bench/quarantine-list.ts
//
// The index is seeded through QuarantineIndex.addBatch (bench/quarantine-seed.ts); blobs are
// written only for the items the benchmark opens. Not a test: figures go to docs/benchmarks.md
// by hand, with the machine.
import os from 'node:os';

import { TableClient } from '@azure/data-tables';

import { loadSettings } from '../src/config/settings.js';
import type { ApiRequest } from '../src/functions-host/registry.js';
import { createBlobQuarantineStore } from '../src/quarantine/blob-quarantine-store.js';
import { createQuarantineApi } from '../src/quarantine/quarantine-api.js';
import { QuarantineAuditLog } from '../src/quarantine/quarantine-audit.js';
import { withQuarantineIndex } from '../src/quarantine/indexed-store.js';
import { QuarantineIndex } from '../src/quarantine/quarantine-index.js';
import { silentLogger } from '../src/shared/logger.js';
import { seededMailbox, seedOpenedItems, seedQuarantineIndex } from './quarantine-seed.js';

const ITEMS = Number(process.env.BENCH_ITEMS ?? 100_000);
const REQUESTS = 50;
/** Items stored with blobs, for the preview and download cases. */
const OPENED = 10;

const context = { invocationId: 'bench', log: () => undefined };
const ALIAS_USER_OID = '00000000-0000-4000-8000-000000000007';

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
  const store = withQuarantineIndex(
    createBlobQuarantineStore({
      settings: { connectionString, container: 'benchq', retentionDays: 30 },
      logger: silentLogger,
    }),
    index,
  );
  const api = createQuarantineApi({
    store,
    index,
    audit: new QuarantineAuditLog(await table('benchqaudit')),
    auth: { kind: 'app-service' },
    limits: loadSettings({}).limits,
    // The alias user below owns three seeded mailboxes. A fixed directory replaces Graph, because
    // this measures the merged index read, not the lookup (which is cached per user).
    userAddresses: {
      addressesOf: async (objectId) => ({
        addresses: objectId === ALIAS_USER_OID ? [7, 8, 9].map(seededMailbox) : [],
      }),
    },
  });

  const seedSeconds = await seedQuarantineIndex(index, {
    items: ITEMS,
    onProgress: (written) => process.stderr.write(`indexed ${written} items\n`),
  });
  process.stdout.write(`seeded ${ITEMS} items in ${seedSeconds.toFixed(1)} s\n`);
  const opened = await seedOpenedItems(store, seededMailbox(7), OPENED);

  const admin = principal({ oid: 'bench-admin', roles: ['Mailsweep.Admin'] });
  const user = principal({ oid: 'bench-user', email: seededMailbox(7) });
  const aliasUser = principal({ oid: ALIAS_USER_OID, email: seededMailbox(7) });
  const cases: [string, string, string][] = [
    ['admin, no filter', admin, ''],
    ['admin, category=malware', admin, '?category=malware'],
    ['admin, mailbox filter', admin, `?mailbox=${encodeURIComponent(seededMailbox(7))}`],
    ['admin, mailbox and category', admin, `?mailbox=${encodeURIComponent(seededMailbox(7))}&category=spam`],
    ['admin, subject text', admin, '?q=invoice'],
    ['user, own items', user, ''],
    ['user, category=spam', user, '?category=spam'],
    ['user, 3 addresses', aliasUser, ''],
    ['user, 3 addresses, spam', aliasUser, '?category=spam'],
    ['user, 3 addresses, text', aliasUser, '?q=invoice'],
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
  for (const [name, open] of [
    ['user, preview', (id: string) => api.item(request(user, '', id), context)],
    ['user, download', (id: string) => api.message(request(user, '', id, '/message'), context)],
  ] as const) {
    const times: number[] = [];
    for (let index = 0; index < REQUESTS; index += 1) {
      const id = opened[index % opened.length] ?? '';
      const started = process.hrtime.bigint();
      const response = await open(id);
      times.push(Number(process.hrtime.bigint() - started) / 1e6);
      if (response.status !== 200) {
        throw new Error(`${name} failed with status ${response.status}`);
      }
    }
    times.sort((a, b) => a - b);
    const median = times[Math.floor(times.length / 2)] ?? 0;
    const p95 = times[Math.floor(times.length * 0.95)] ?? 0;
    process.stdout.write(`${name.padEnd(28)}            median ${median.toFixed(1)} ms  p95 ${p95.toFixed(1)} ms\n`);
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

function request(header: string, query: string, id?: string, suffix = ''): ApiRequest {
  const path = id === undefined ? '' : `/${id}${suffix}`;
  return {
    method: 'GET',
    url: new URL(`http://127.0.0.1/api/quarantine/items${path}${query}`),
    headers: new Headers({ 'x-ms-client-principal': header }),
    params: id === undefined ? {} : { id },
    body: Buffer.alloc(0),
  };
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exitCode = 1;
});
