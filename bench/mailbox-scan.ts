// npm run bench:scans: one on-demand scan (report mode) of 200 mailboxes of 500 messages each,
// half on the Graph simulator and half on the EWS simulator, through the real clients, the scan
// consumer and Table storage on Azurite. Both simulators wait 50 ms before every response. Graph
// admits 4 concurrent requests per mailbox, the EWS server 10 in all, and each answers 3% of
// requests with throttling (Graph 429, EWS ErrorServerBusy with BackOffMilliseconds 50). It prints
// misses and duplicates (from the scanner's count per message id), the achieved rate, the rate the
// simulated limits allow, and their ratio. Not a test: figures go to docs/benchmarks.md by hand.
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';

import type { TableClient } from '@azure/data-tables';

import { handleScanMailbox, type MailboxScanDependencies } from '../src/scans/mailbox-scan.js';
import { startScan } from '../src/scans/start-scan.js';
import { silentLogger } from '../src/shared/logger.js';
import { createScanFixture, plainMessage, type ScanFixture } from '../test/scans/scan-test-support.js';

const MAILBOXES_PER_SIDE = Number(process.env.BENCH_MAILBOXES_PER_SIDE ?? 100);
const MESSAGES_PER_MAILBOX = Number(process.env.BENCH_MESSAGES_PER_MAILBOX ?? 500);
const LATENCY_MS = 50;
const GRAPH_CONCURRENCY_PER_MAILBOX = 4;
const EWS_CONCURRENCY = 10;
const THROTTLE_RATE = 0.03;
/** Mailbox jobs running at once, as many Functions instances would run them. */
const JOB_CONCURRENCY = 200;

function fill(fixture: ScanFixture): { graph: string[]; ews: string[]; ids: string[] } {
  const graph: string[] = [];
  const ews: string[] = [];
  const ids: string[] = [];
  const now = Date.now();
  for (let box = 0; box < MAILBOXES_PER_SIDE; box += 1) {
    const graphBox = `bench-g${box}@contoso.com`;
    const ewsBox = `bench-e${box}@onprem.contoso.com`;
    fixture.graph.sim.addMailbox(graphBox);
    fixture.ews.addMailbox(ewsBox);
    graph.push(graphBox);
    ews.push(ewsBox);
    for (let index = 0; index < MESSAGES_PER_MAILBOX; index += 1) {
      const receivedAt = new Date(now - 60_000 - index * 1000);
      const g = `g${box}-${index}`;
      ids.push(
        fixture.graph.sim.deliverMessage(graphBox, {
          mime: plainMessage(g, `Quarterly figures, part ${index}.`),
          internetMessageId: `<${g}@fabrikam.example>`,
          receivedAt,
        }).id,
      );
      const e = `e${box}-${index}`;
      ids.push(
        fixture.ews.deliverMessage(ewsBox, {
          mime: plainMessage(e, `Quarterly figures, part ${index}.`),
          internetMessageId: `<${e}@fabrikam.example>`,
          receivedAt,
        }).id,
      );
    }
  }
  return { graph, ews, ids };
}

async function runAll(fixture: ScanFixture, deps: MailboxScanDependencies): Promise<number> {
  let failures = 0;
  let running = 0;
  await new Promise<void>((resolve) => {
    const pump = (): void => {
      while (running < JOB_CONCURRENCY && fixture.queue.jobs.length > 0) {
        const job = fixture.queue.jobs.shift();
        running += 1;
        void (async () => {
          for (let delivery = 1; delivery <= 5; delivery += 1) {
            try {
              await handleScanMailbox(job, { deliveryCount: delivery }, deps);
              break;
            } catch {
              failures += delivery === 5 ? 1 : 0;
            }
          }
          running -= 1;
          pump();
        })();
      }
      if (running === 0 && fixture.queue.jobs.length === 0) {
        resolve();
      }
    };
    pump();
  });
  return failures;
}

/** Counts a table client's requests to Table storage by HTTP method. */
function countTableRequests(table: TableClient, counts: Map<string, number>): void {
  table.pipeline.addPolicy({
    name: 'benchRequestCounter',
    sendRequest: (request, next) => {
      counts.set(request.method, (counts.get(request.method) ?? 0) + 1);
      return next(request);
    },
  });
}

/**
 * Returns the CPU seconds used so far by the other children of this process's parent, which are
 * Azurite when the bench runs under scripts/with-azurite.mjs. Linux only; 0 elsewhere.
 */
function siblingCpuSeconds(): number {
  const ticksPerSecond = 100;
  let total = 0;
  try {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry) || Number(entry) === process.pid) {
        continue;
      }
      let stat: string;
      try {
        stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      } catch {
        continue;
      }
      // The fields after the command name: state, ppid, ..., utime (14th), stime (15th).
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === process.ppid) {
        total += (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
      }
    }
  } catch {
    return 0;
  }
  return total;
}

/** Formats counts as `key n (n per message)`, largest first. */
function perMessage(counts: Map<string, number>, messages: number): string {
  return [...counts]
    .sort((a, b) => b[1] - a[1])
    .map(([key, count]) => `${key} ${count} (${(count / messages).toFixed(3)}/msg)`)
    .join(', ');
}

async function main(): Promise<void> {
  const fixture = await createScanFixture({ MAILSWEEP_EWS_MAX_CONCURRENCY: String(EWS_CONCURRENCY) });
  try {
    fixture.graph.sim.faults.latencyMs = LATENCY_MS;
    fixture.graph.sim.faults.throttleRate = THROTTLE_RATE;
    fixture.graph.sim.faults.maxConcurrentPerMailbox = GRAPH_CONCURRENCY_PER_MAILBOX;
    fixture.ews.faults.latencyMs = LATENCY_MS;
    fixture.ews.faults.maxConcurrency = EWS_CONCURRENCY;
    fixture.ews.faults.serverBusyRate = THROTTLE_RATE;
    fixture.ews.faults.backOffMs = 50;
    const { graph, ews, ids } = fill(fixture);
    const tableRequests = new Map<string, number>();
    countTableRequests(fixture.deps.locksTable, tableRequests);
    countTableRequests(fixture.scansTable, tableRequests);
    const graphLogStart = fixture.graph.sim.requestLog.length;
    const ewsLogStart = fixture.ews.requestLog.length;
    const cpuStart = process.cpuUsage();
    const siblingCpuStart = siblingCpuSeconds();

    const started = Date.now();
    const result = await startScan(
      { scope: { mailboxes: [...graph, ...ews] }, window: { modifiedInLastDays: 2 }, mode: 'report' },
      { trigger: 'on-demand', createdBy: 'bench' },
      fixture.start,
    );
    if (!result.ok) {
      throw new Error(result.error);
    }
    const failures = await runAll(fixture, { ...fixture.deps, logger: silentLogger });
    const seconds = (Date.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuStart);
    const azuriteCpu = siblingCpuSeconds() - siblingCpuStart;

    let misses = 0;
    let duplicates = 0;
    for (const id of ids) {
      const count = fixture.scanner.counts.get(id) ?? 0;
      misses += count === 0 ? 1 : 0;
      duplicates += count > 1 ? count - 1 : 0;
    }
    let rows = 0;
    for await (const _item of fixture.store.listItems(result.scan.scanId)) {
      rows += 1;
    }

    // Each message needs at least one request (its MIME). The scan ends when the slower side ends,
    // so the allowed rate is all messages over the longer of the two sides' shortest times.
    const successShare = 1 - THROTTLE_RATE;
    const ewsPerSecond = (EWS_CONCURRENCY / (LATENCY_MS / 1000)) * successShare;
    const graphPerSecond = (GRAPH_CONCURRENCY_PER_MAILBOX / (LATENCY_MS / 1000)) * successShare;
    const sideMessages = MAILBOXES_PER_SIDE * MESSAGES_PER_MAILBOX;
    const ewsSeconds = sideMessages / ewsPerSecond;
    const graphSeconds = MESSAGES_PER_MAILBOX / graphPerSecond;
    const allowedRate = ids.length / Math.max(ewsSeconds, graphSeconds);
    const achievedRate = ids.length / seconds;

    console.log(`machine: ${os.cpus().length} CPUs, ${os.cpus()[0]?.model ?? 'unknown'}, Node ${process.version}`);
    console.log(`mailboxes: ${graph.length} Graph + ${ews.length} EWS, ${MESSAGES_PER_MAILBOX} messages each`);
    console.log(`messages: ${ids.length}, report rows: ${rows}, failed jobs: ${failures}`);
    console.log(`misses: ${misses}, duplicates: ${duplicates}`);
    console.log(`elapsed: ${seconds.toFixed(1)} s`);
    console.log(`achieved rate: ${achievedRate.toFixed(1)} messages/s`);
    console.log(
      `allowed rate: ${allowedRate.toFixed(1)} messages/s ` +
        `(EWS ${ewsPerSecond.toFixed(0)}/s for ${ewsSeconds.toFixed(0)} s; Graph ${graphPerSecond.toFixed(0)}/s per mailbox)`,
    );
    const graphRequests = new Map<string, number>();
    for (const entry of fixture.graph.sim.requestLog.slice(graphLogStart)) {
      const kind = `${entry.method} ${entry.path
        .replace(/^\/users\/[^/]+/, '')
        .replace(/\/mailFolders\/[^/]+/, '/mailFolders/ID')
        .replace(/\/messages\/[^/]+/, '/messages/ID')}`;
      const key = entry.status === 429 ? `${kind} (429)` : kind;
      graphRequests.set(key, (graphRequests.get(key) ?? 0) + 1);
    }
    const ewsRequests = new Map<string, number>();
    for (const entry of fixture.ews.requestLog.slice(ewsLogStart)) {
      const key = entry.fault === undefined ? entry.operation : `${entry.operation} (${entry.fault})`;
      ewsRequests.set(key, (ewsRequests.get(key) ?? 0) + 1);
    }
    console.log(`Graph requests: ${perMessage(graphRequests, sideMessages)}`);
    console.log(`EWS requests: ${perMessage(ewsRequests, sideMessages)}`);
    console.log(`Table requests: ${perMessage(tableRequests, ids.length)}`);
    console.log(
      `Azurite CPU: ${azuriteCpu.toFixed(1)} s (${((azuriteCpu / seconds) * 100).toFixed(0)}% of one core, ` +
        `${((azuriteCpu * 1000) / ids.length).toFixed(2)} ms per message)`,
    );
    console.log(
      `scanner process CPU: ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s ` +
        `(${((cpu.user + cpu.system) / 1e6 / seconds * 100).toFixed(0)}% of one core)`,
    );
    console.log(`ratio: ${(achievedRate / allowedRate).toFixed(3)} (target >= 0.80)`);
  } finally {
    await fixture.close();
  }
}

await main();
