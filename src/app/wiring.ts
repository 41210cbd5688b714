import { provideArrivalServices } from '../arrival/arrival-runtime.js';
import { toAuthMode } from '../auth/require-admin.js';
import { provideUserAddressDirectory } from '../auth/user-address-provider.js';
import { loadSettings, type Settings } from '../config/settings.js';
import { createEwsClient } from '../ews/create-ews-client.js';
import type { EwsClient, EwsClientOptions } from '../ews/ews-client.js';
import { EwsPushClient } from '../ews/ews-push.js';
import {
  createGraphClient,
  isGraphConfigured,
  type CreateGraphClientOptions,
} from '../graph/create-graph-client.js';
import type { GraphClient } from '../graph/graph-client.js';
import type { MailboxClient } from '../mailbox/mailbox-client.js';
import { MailboxRouter } from '../mailbox/mailbox-router.js';
import type { JobQueue } from '../queue/jobs.js';
import type { QueueMonitor } from '../queue/queue-monitor.js';
import { openScanQueue } from '../realtime/compose.js';
import { provideEwsPushClient } from '../realtime/ews-push-services.js';
import { provideGraphClients, provideScanQueue } from '../realtime/provider.js';
import { GRAPH_NOT_CONFIGURED } from '../realtime/services.js';
import { ScannerError } from '../shared/errors.js';
import { createJsonLogger, type Logger } from '../shared/logger.js';

/** Options of {@link wireServices}; production passes none. */
export interface WiringOptions {
  /** Options for the Graph client, e.g. the simulator's CA for local runs and tests. */
  graph?: CreateGraphClientOptions;
  /** Options for the EWS client, e.g. the simulator's CA and short retries in tests. */
  ews?: Partial<EwsClientOptions>;
  /** Logger of the Graph client; default a JSON logger at the settings' level. */
  logger?: Logger;
  /** Settings source; default process.env, read when the first function needs a service. */
  env?: Record<string, string | undefined>;
}

interface Wired {
  settings: Settings;
  logger: Logger;
  graph: GraphClient | undefined;
  /** Built on first use; undefined when MAILSWEEP_EWS_URL is unset. */
  ews?: { client: EwsClient | undefined };
  /** Built on the first scan job, so that EWS settings are read only when a scan needs them. */
  router?: MailboxRouter;
  scanQueue: { queue: JobQueue; monitor: QueueMonitor };
}

let wired: Wired | undefined;

/**
 * Connects the real-time endpoints and the scan-queue consumer to the same services: one Graph
 * client (when settings name the Entra app) for subscriptions, user ids and mailbox access, and
 * one scan queue that the endpoints send to and the consumer reads. Everything is built on first
 * use, from the settings of that moment. Without Graph settings, the endpoints that need Graph
 * return 503 and scan jobs fail with `config-invalid`, but the host keeps running.
 */
export function wireServices(options: WiringOptions = {}): void {
  unwireServices();
  const build = (): Wired => {
    if (wired === undefined) {
      const settings = loadSettings(options.env ?? process.env);
      const logger = options.logger ?? createJsonLogger(settings.logLevel);
      wired = {
        settings,
        logger,
        graph: isGraphConfigured(settings)
          ? createGraphClient(settings, logger, options.graph)
          : undefined,
        scanQueue: openScanQueue(settings, logger),
      };
    }
    return wired;
  };
  provideGraphClients(() => {
    const { graph } = build();
    if (graph === undefined) {
      return undefined;
    }
    return { subscriptions: graph, directory: graph, users: graph };
  });
  provideScanQueue(() => build().scanQueue);
  // The quarantine API reads a user's aliases from the same Graph client (User.Read.All).
  provideUserAddressDirectory(() => build().graph);
  // One EWS client serves scans and push subscriptions, so they share its concurrency limit.
  const ewsClient = (): EwsClient | undefined => {
    const current = build();
    current.ews ??= { client: createEwsClient(current.settings, current.logger, options.ews) };
    return current.ews.client;
  };
  provideEwsPushClient(() => {
    const client = ewsClient();
    return client === undefined ? undefined : new EwsPushClient(client.soapTransport);
  });
  // Scans reach mailboxes through the router: on-premises mailboxes (named in settings, or
  // reported so by Graph) go to EWS when an EWS URL is set.
  const mailboxClient = (): MailboxClient => {
    const current = build();
    if (current.graph === undefined) {
      throw new ScannerError('config-invalid', GRAPH_NOT_CONFIGURED);
    }
    current.router ??= new MailboxRouter({
      graph: current.graph,
      ews: ewsClient(),
      onPremMailboxes: current.settings.hybrid.onPremMailboxes,
      onPremDomains: current.settings.hybrid.onPremDomains,
      cacheTtlMs: current.settings.hybrid.cacheMinutes * 60_000,
      logger: current.logger,
    });
    return current.router;
  };
  provideArrivalServices(async () => {
    const { settings, graph, scanQueue } = build();
    if (graph === undefined) {
      throw new ScannerError('config-invalid', GRAPH_NOT_CONFIGURED);
    }
    return {
      client: mailboxClient(),
      queue: scanQueue.queue,
      auth: toAuthMode(settings.auth),
      mailSender: graph,
      directory: graph,
    };
  });
}

/** Closes the Graph and EWS clients' connections and forgets the built services. */
export function unwireServices(): void {
  provideUserAddressDirectory(undefined);
  wired?.graph?.close();
  wired?.ews?.client?.close();
  wired = undefined;
}
