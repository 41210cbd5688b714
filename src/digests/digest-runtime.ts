import { resolve } from 'node:path';

import { loadSettings, type Settings } from '../config/settings.js';
import { createGraphClient, isGraphConfigured } from '../graph/create-graph-client.js';
import type { Logger } from '../shared/logger.js';
import { openStateTable, STATE_TABLES } from '../state/tables.js';
import { runDigests, type DigestRunResult } from './digest-run.js';
import { DigestState } from './digest-state.js';
import { emlFolderTransport, graphTransport, type DigestTransport } from './digest-transport.js';
import { SendLimiter } from './send-limiter.js';

/** From address of .eml digests written without a sending mailbox. */
const LOCAL_FROM_ADDRESS = 'mailsweep@localhost.invalid';

/**
 * Runs the digest timer once from the environment's settings: Graph sendMail from
 * `MAILSWEEP_DIGEST_SENDER` when it and the Graph app are set, .eml files otherwise. Returns
 * undefined, and logs why, when `MAILSWEEP_UI_BASE_URL` is unset, because a digest needs links.
 */
export async function runDigestTimer(logger: Logger): Promise<DigestRunResult | undefined> {
  const settings = loadSettings(process.env);
  const { digests } = settings;
  if (digests.uiBaseUrl === undefined) {
    logger.info('Digest run skipped: MAILSWEEP_UI_BASE_URL is not set');
    return undefined;
  }
  const state = { settings: settings.state };
  const [indexTable, stateTable] = await Promise.all([
    openStateTable(state, STATE_TABLES.quarantineIndex),
    openStateTable(state, STATE_TABLES.digestState),
  ]);
  const digestState = new DigestState(stateTable);
  const { transport, senderAddress, close } = createTransport(settings, logger);
  const now = new Date();
  try {
    const limiter = new SendLimiter({
      messagesPerMinute: digests.messagesPerMinute,
      recipientsPerDay: digests.recipientsPerDay,
      recipientsSentToday: await digestState.readRecipientsSent(senderAddress, now),
    });
    return await runDigests({
      indexTable,
      state: digestState,
      transport,
      limiter,
      senderAddress,
      uiBaseUrl: digests.uiBaseUrl,
      adminRecipients: digests.adminRecipients,
      now: () => new Date(),
      deadline: now.getTime() + digests.maxRunSeconds * 1000,
      minIntervalMs: digests.intervalHours * 3_600_000,
      logger,
    });
  } finally {
    close();
  }
}

function createTransport(
  settings: Settings,
  logger: Logger,
): { transport: DigestTransport; senderAddress: string; close: () => void } {
  const sender = settings.digests.sender;
  if (sender !== undefined && isGraphConfigured(settings)) {
    const graph = createGraphClient(settings, logger);
    return { transport: graphTransport(graph, sender), senderAddress: sender, close: () => graph.close() };
  }
  if (sender !== undefined) {
    logger.warn('Digests go to .eml files: MAILSWEEP_DIGEST_SENDER is set but Graph is not');
  }
  return {
    transport: emlFolderTransport(resolve(settings.digests.folder), LOCAL_FROM_ADDRESS),
    senderAddress: LOCAL_FROM_ADDRESS,
    close: () => undefined,
  };
}
