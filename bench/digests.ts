// A digest run over BENCH_MAILBOXES mailboxes (default 10,000), each with one new quarantined
// item, sent through the real Graph client (sendMail in MIME format) to the Graph simulator, on a
// simulated clock:
//
//   npm run bench:digests
//
// The timer runs every 15 minutes and each run may take MAILSWEEP_DIGEST_MAX_RUN_SECONDS (540),
// as with the default settings. The clock advances only while the limiter waits or between runs,
// so hours of sending take seconds. The script checks the send times against Exchange Online's
// per-mailbox limits (30 messages in any 60 seconds, 10,000 recipients in any 24 hours) and
// Graph's (10,000 requests per mailbox in any 10 minutes), and prints the simulated duration.
// Not a test: figures go to docs/web-ui.md by hand, with the machine.
import os from 'node:os';

import { TableClient, type TransactionAction } from '@azure/data-tables';

import { loadSettings } from '../src/config/settings.js';
import { runDigests, type DigestRunResult } from '../src/digests/digest-run.js';
import { DigestState } from '../src/digests/digest-state.js';
import { graphTransport, type DigestTransport } from '../src/digests/digest-transport.js';
import { SendLimiter } from '../src/digests/send-limiter.js';
import { isAllPartition, toIndexEntities } from '../src/quarantine/quarantine-index.js';
import { silentLogger } from '../src/shared/logger.js';
import { startGraphFixture } from '../test/graph/graph-test-support.js';
import { fakeMetadata } from '../test/webui/index-seeding.js';

const MAILBOXES = Number(process.env.BENCH_MAILBOXES ?? 10_000);
const SENDER = 'mailsweep-digest@contoso.com';
const ADMINS = ['admin@contoso.com'];
const RUN_EVERY_MS = 15 * 60_000;
const MINUTE_MS = 60_000;
const DAY_MS = 24 * 60 * MINUTE_MS;

async function main(): Promise<void> {
  const connectionString = process.env.MAILSWEEP_QUARANTINE_CONNECTION_STRING;
  if (connectionString === undefined) {
    throw new Error('Run through scripts/with-azurite.mjs, which sets the storage connection');
  }
  const settings = loadSettings({}).digests;
  const table = async (name: string): Promise<TableClient> => {
    const client = TableClient.fromConnectionString(connectionString, `${name}${Date.now()}`, {
      allowInsecureConnection: true,
    });
    await client.createTable();
    return client;
  };
  const indexTable = await table('benchdigestindex');
  const state = new DigestState(await table('benchdigeststate'));

  const seedStart = performance.now();
  const itemsBase = Date.now() - 60 * MINUTE_MS;
  const rows: TransactionAction[] = [];
  for (let i = 0; i < MAILBOXES; i += 1) {
    const item = fakeMetadata(`user${i}@contoso.com`, i % 5 === 0 ? 'phishing' : 'spam', i, itemsBase);
    item.quarantinedAt = new Date(itemsBase + (i % 3600) * 1000).toISOString();
    const all = toIndexEntities(item).find((entity) => isAllPartition(entity.partitionKey));
    if (all !== undefined) rows.push(['upsert', all, 'Replace']);
  }
  for (let start = 0; start < rows.length; start += 100) {
    await indexTable.submitTransaction(rows.slice(start, start + 100));
  }
  const seedSeconds = (performance.now() - seedStart) / 1000;

  // The client's 10,000-requests-per-10-minutes budget and the simulator's count it in wall-clock
  // time, but this script compresses a day of sending into minutes. Both are lifted here, and the
  // script checks that budget on the simulated clock instead (the last figure below). The
  // concurrency limit of 4 stays.
  const unlimited = { requestsPerWindow: Number.MAX_SAFE_INTEGER };
  const graph = await startGraphFixture({ faults: unlimited }, { limits: unlimited });
  graph.sim.addMailbox(SENDER);
  const startTime = Date.now();
  let clock = startTime;
  const sends: { at: number; recipients: number }[] = [];
  const real = graphTransport(graph.client, SENDER);
  const transport: DigestTransport = {
    kind: 'graph',
    send: async (mail) => {
      await real.send(mail);
      sends.push({ at: clock, recipients: mail.to.length });
    },
  };

  const wallStart = performance.now();
  const runs: DigestRunResult[] = [];
  let sentDigests = 0;
  while (sentDigests < MAILBOXES && runs.length < 500) {
    const runStart = clock;
    const limiter = new SendLimiter({
      messagesPerMinute: settings.messagesPerMinute,
      recipientsPerDay: settings.recipientsPerDay,
      recipientsSentToday: await state.readRecipientsSent(SENDER, new Date(clock)),
      now: () => clock,
      wait: async (ms) => {
        clock += ms;
      },
    });
    const result = await runDigests({
      indexTable,
      state,
      transport,
      limiter,
      senderAddress: SENDER,
      uiBaseUrl: 'https://mailsweep.contoso.com',
      adminRecipients: ADMINS,
      now: () => new Date(clock),
      deadline: runStart + settings.maxRunSeconds * 1000,
      minIntervalMs: settings.intervalHours * 3_600_000,
      logger: silentLogger,
    });
    runs.push(result);
    sentDigests += result.digestsSent;
    clock = runStart + RUN_EVERY_MS;
  }
  const wallSeconds = (performance.now() - wallStart) / 1000;
  await graph.close();

  const maxPerMinute = maxInWindow(sends, MINUTE_MS, () => 1);
  const maxRecipientsPerDay = maxInWindow(sends, DAY_MS, (send) => send.recipients);
  const maxPer10Minutes = maxInWindow(sends, 10 * MINUTE_MS, () => 1);
  const lastSend = sends.at(-1)?.at ?? startTime;
  const stops = runs.filter((run) => run.stoppedBy === 'daily-limit').length;
  const lines = [
    `machine: ${os.cpus().length} x ${os.cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}`,
    `mailboxes with new items: ${MAILBOXES} (index seeded in ${seedSeconds.toFixed(1)} s)`,
    `timer runs: ${runs.length} (every 15 min, at most ${settings.maxRunSeconds} s each); runs stopped by the daily limit: ${stops}`,
    `digests sent: ${sentDigests} of ${MAILBOXES}; admin summaries: ${runs.filter((run) => run.adminSummarySent).length}; failed: ${runs.reduce((sum, run) => sum + run.failed, 0)}`,
    `sendMail requests the simulator received: ${graph.sim.sentMail.length}, of which in MIME format: ${graph.sim.sentMail.filter((mail) => mail.format === 'mime').length}`,
    `max messages in any 60 s: ${maxPerMinute} (limit ${settings.messagesPerMinute}) ${maxPerMinute <= settings.messagesPerMinute ? 'OK' : 'EXCEEDED'}`,
    `max recipients in any 24 h: ${maxRecipientsPerDay} (limit ${settings.recipientsPerDay}) ${maxRecipientsPerDay <= settings.recipientsPerDay ? 'OK' : 'EXCEEDED'}`,
    `max sendMail requests in any 10 min: ${maxPer10Minutes} (Graph limit 10000 per mailbox) ${maxPer10Minutes <= 10_000 ? 'OK' : 'EXCEEDED'}`,
    `simulated time from the first run to the last send: ${((lastSend - startTime) / 3_600_000).toFixed(2)} h`,
    `wall time of the runs: ${wallSeconds.toFixed(1)} s`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** Largest sum of `weight` over the sends inside any window of `windowMs` (sends sorted by time). */
function maxInWindow(
  sends: readonly { at: number; recipients: number }[],
  windowMs: number,
  weight: (send: { at: number; recipients: number }) => number,
): number {
  let max = 0;
  let sum = 0;
  let first = 0;
  for (let last = 0; last < sends.length; last += 1) {
    sum += weight(sends[last]!);
    while (sends[last]!.at - sends[first]!.at >= windowMs) {
      sum -= weight(sends[first]!);
      first += 1;
    }
    max = Math.max(max, sum);
  }
  return max;
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:digests failed: ${String(error)}\n`);
  process.exitCode = 1;
});
