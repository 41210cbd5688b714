// npm run start:simulated: the whole real-time loop on this machine, with no Azure account. It
// starts the Graph simulator (HTTPS on 127.0.0.1) and the local host on http://127.0.0.1:7071
// wired to it, under the in-memory Azurite that scripts/with-azurite.mjs starts. It adds two demo
// mailboxes through POST /api/mailboxes, delivers the generated samples, prints the verdicts and
// where each message ended up, and keeps serving until Ctrl-C.
import { Command, InvalidArgumentError } from 'commander';

import { buildSamples } from '../src/samples/samples.js';
import { createJsonLogger } from '../src/shared/logger.js';
import { startLoopHarness } from '../test/e2e/loop-harness.js';

const DEMO_MAILBOXES = ['adele.vance@contoso.com', 'alex.wilber@contoso.com'];

async function main(): Promise<void> {
  const program = new Command('start-simulated')
    .description('Run mailsweep against the Graph simulator on 127.0.0.1')
    .option('--port <port>', 'TCP port of the local host (default: PORT or 7071)', parsePort);
  program.parse();
  const port = program.opts<{ port?: number }>().port ?? parsePort(process.env.PORT ?? '7071');
  const logger = createJsonLogger(process.env.MAILSWEEP_LOG_LEVEL === 'info' ? 'info' : 'warn');

  const loop = await startLoopHarness({
    port,
    logger,
    runTimers: true,
    graphRetry: {},
    queueRetryDelayMs: 1000,
  });
  const stop = async (): Promise<void> => {
    process.stdout.write('Stopping\n');
    await loop.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());

  for (const address of DEMO_MAILBOXES) {
    loop.sim.addMailbox(address);
    const row = await loop.addMailbox(address);
    process.stdout.write(`Monitoring ${address}: subscription ${row.state}\n`);
  }
  const samples = await buildSamples();
  const delivered = samples.map((sample, index) => {
    const mailbox = DEMO_MAILBOXES[index % DEMO_MAILBOXES.length]!;
    const message = loop.sim.deliverMessage(mailbox, { mime: sample.raw });
    return { mailbox, sample, internetMessageId: message.internetMessageId };
  });
  process.stdout.write(`Delivered ${delivered.length} samples; waiting for the scans\n\n`);
  await loop.settle();

  for (const mailbox of DEMO_MAILBOXES) {
    const verdicts = await loop.verdicts(mailbox);
    const simMailbox = loop.sim.mailbox(mailbox);
    process.stdout.write(`${mailbox}\n`);
    for (const entry of delivered.filter((item) => item.mailbox === mailbox)) {
      const verdict = verdicts.find(
        (record) =>
          record.internetMessageId === entry.internetMessageId && record.outcome === 'scanned',
      );
      const folders = [...simMailbox.messages.values()]
        .filter((message) => message.internetMessageId === entry.internetMessageId)
        .map((message) => simMailbox.folders.get(message.folderId)?.displayName ?? '?');
      const outcome =
        verdict === undefined ? 'not scanned' : `${verdict.category} -> ${verdict.action}`;
      process.stdout.write(
        `  ${entry.sample.file.padEnd(38)} ${outcome.padEnd(24)} now in: ${folders.join(', ')}\n`,
      );
    }
  }

  const url = `${loop.host.url}/api`;
  process.stdout.write(
    [
      '',
      `mailsweep functions on ${url}, wired to the Graph simulator at ${loop.sim.baseUrl}`,
      `Administrator token: ${loop.adminToken}`,
      `  curl -H "Authorization: Bearer ${loop.adminToken}" ${url}/status`,
      `  curl -H "Authorization: Bearer ${loop.adminToken}" "${url}/verdicts?mailbox=${DEMO_MAILBOXES[0]}"`,
      'Press Ctrl-C to stop.',
      '',
    ].join('\n'),
  );
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!/^[0-9]+$/.test(value) || port > 65_535) {
    throw new InvalidArgumentError('must be a TCP port number between 0 and 65535');
  }
  return port;
}

main().catch((error: unknown) => {
  process.stderr.write(`start:simulated failed: ${String(error)}\n`);
  process.exitCode = 1;
});
