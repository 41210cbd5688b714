// npm run bench:realtime: the whole real-time loop against the Graph simulator, in one process.
// 1,000 messages arrive across 100 mailboxes while 5% of mailbox requests get 429 without
// Retry-After, so the client backs off by itself. 10% of change notifications come twice, and 5%
// never come but each causes a `missed` lifecycle notification, as Graph sends. It prints how many
// messages were scanned exactly once and acted on, lost, scanned twice or quarantined twice, read
// from the simulator's mailboxes and the verdict log. Needs Azurite: the script runs under
// scripts/with-azurite.mjs. Not a test: figures go to docs/benchmarks.md by hand, with the machine.
import os from 'node:os';

import type { VerdictRecord } from '../src/arrival/verdict-log.js';
import { buildSamples, type Sample } from '../src/samples/samples.js';
import type { SimMailbox } from '../test/graph-simulator/graph-simulator.js';
import { startLoopHarness } from '../test/e2e/loop-harness.js';

const MAILBOXES = 100;
const MESSAGES = 1000;
const QUARANTINE_FOLDER = 'mailsweep quarantine';

/** Expected folder of each category after the default actions. */
const EXPECTED_FOLDER: Record<string, string> = {
  malware: QUARANTINE_FOLDER,
  phishing: QUARANTINE_FOLDER,
  spam: 'Junk Email',
  clean: 'Inbox',
};

interface Sent {
  mailbox: string;
  internetMessageId: string;
  category: string;
}

interface Tally {
  scannedOnceAndActed: number;
  scannedOnceWrongPlace: number;
  lost: number;
  doubleScanned: number;
  doubleQuarantined: number;
}

async function main(): Promise<void> {
  const samples = await buildSamples();
  const byCategory = (category: string): Sample => {
    const sample = samples.find((entry) => entry.expected.category === category);
    if (sample === undefined) {
      throw new Error(`no ${category} sample`);
    }
    return sample;
  };
  const loop = await startLoopHarness({
    simulator: { seed: 7 },
    env: { MAILSWEEP_SCAN_WORKERS: String(Math.max(1, os.availableParallelism())) },
    // The production retry timing (1 s base delay with jitter, 6 tries).
    graphRetry: {},
    queueRetryDelayMs: 1000,
    queueConcurrency: 16,
  });
  try {
    const addresses = Array.from({ length: MAILBOXES }, (_, index) => `bench${index}@contoso.com`);
    const simMailboxes = new Map<string, SimMailbox>();
    for (const address of addresses) {
      simMailboxes.set(address, loop.sim.addMailbox(address));
      await loop.addMailbox(address);
    }
    await loop.settle();

    Object.assign(loop.sim.faults, { throttleRate: 0.05, throttleRetryAfterSeconds: undefined });
    Object.assign(loop.sim.notificationHooks, {
      duplicateRate: 0.1,
      dropRate: 0.05,
      missedOnDrop: true,
    });
    const categories = ['malware', 'phishing', 'spam', 'clean', 'clean', 'clean', 'clean'];
    const sent: Sent[] = [];
    const started = performance.now();
    for (let index = 0; index < MESSAGES; index += 1) {
      const mailbox = addresses[index % MAILBOXES]!;
      const category = categories[index % categories.length]!;
      const internetMessageId = `<bench-${index}@fabrikam.example>`;
      loop.sim.deliverMessage(mailbox, { mime: byCategory(category).raw, internetMessageId });
      sent.push({ mailbox, internetMessageId, category });
      if (index % 50 === 49) {
        // Arrivals spread over time instead of one synchronous burst.
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
    await loop.settle();
    const seconds = (performance.now() - started) / 1000;

    const verdicts = new Map<string, VerdictRecord[]>();
    for (const address of addresses) {
      verdicts.set(address, await loop.verdicts(address));
    }
    const tally = countOutcomes(sent, simMailboxes, verdicts);
    const dropped = loop.sim.droppedNotifications.length;
    const posted = loop.sim.deliveries.filter((d) => d.kind === 'change').length;
    const throttled = addresses.reduce((sum, a) => sum + loop.sim.stats(a).throttled, 0);
    const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
    process.stdout.write(
      [
        `machine: ${os.availableParallelism()} cores (${cpu}), Node ${process.version}`,
        `messages: ${MESSAGES} across ${MAILBOXES} mailboxes`,
        `change notifications posted, duplicates and moves included: ${posted}`,
        `change notifications dropped, each with a missed event: ${dropped}`,
        `Graph answers 429: ${throttled}`,
        `scanned exactly once and acted on: ${tally.scannedOnceAndActed}`,
        `scanned once but not in the expected folder: ${tally.scannedOnceWrongPlace}`,
        `lost (never scanned): ${tally.lost}`,
        `scanned more than once: ${tally.doubleScanned}`,
        `quarantined more than once: ${tally.doubleQuarantined}`,
        `dead-lettered jobs: ${loop.queue.deadLetters().length}`,
        `wall time: ${seconds.toFixed(1)} s, ${(MESSAGES / seconds).toFixed(1)} messages/s`,
        '',
      ].join('\n'),
    );
  } finally {
    await loop.close();
  }
}

/** Compares each sent message with the verdict log and with where it is in the mailbox. */
function countOutcomes(
  sent: readonly Sent[],
  mailboxes: Map<string, SimMailbox>,
  verdicts: Map<string, VerdictRecord[]>,
): Tally {
  const tally: Tally = {
    scannedOnceAndActed: 0,
    scannedOnceWrongPlace: 0,
    lost: 0,
    doubleScanned: 0,
    doubleQuarantined: 0,
  };
  for (const message of sent) {
    const records = (verdicts.get(message.mailbox) ?? []).filter(
      (record) => record.internetMessageId === message.internetMessageId,
    );
    const scans = records.filter((record) => record.outcome === 'scanned').length;
    const quarantines = new Set(
      records.flatMap((record) => (record.quarantineId === undefined ? [] : [record.quarantineId])),
    ).size;
    const mailbox = mailboxes.get(message.mailbox)!;
    const copies = [...mailbox.messages.values()].filter(
      (item) => item.internetMessageId === message.internetMessageId,
    );
    const folders = copies.map((item) => mailbox.folders.get(item.folderId)?.displayName);
    if (scans === 0) {
      tally.lost += 1;
    } else if (scans > 1) {
      tally.doubleScanned += 1;
    } else if (folders.length === 1 && folders[0] === EXPECTED_FOLDER[message.category]) {
      tally.scannedOnceAndActed += 1;
    } else {
      tally.scannedOnceWrongPlace += 1;
    }
    if (quarantines > 1 || folders.filter((name) => name === QUARANTINE_FOLDER).length > 1) {
      tally.doubleQuarantined += 1;
    }
  }
  return tally;
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:realtime failed: ${String(error)}\n`);
  process.exitCode = 1;
});
