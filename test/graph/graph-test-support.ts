import { loadSettings } from '../../src/config/settings.js';
import { createGraphCredential } from '../../src/graph/graph-credential.js';
import { GraphClient, type GraphClientOptions } from '../../src/graph/graph-client.js';
import {
  startGraphSimulator,
  type GraphSimulator,
  type GraphSimulatorOptions,
} from '../graph-simulator/graph-simulator.js';

/** A simulator and a real client signed in to it with a client secret. */
export interface GraphFixture {
  sim: GraphSimulator;
  client: GraphClient;
  close(): Promise<void>;
}

/** Retries fast enough for tests; the backoff shape is the production one. */
export const FAST_RETRY = { baseDelayMs: 5, maxDelayMs: 50, maxTries: 6 };

/** Starts a simulator and a client configured through the same settings keys as production. */
export async function startGraphFixture(
  simulatorOptions: GraphSimulatorOptions = {},
  clientOptions: Partial<GraphClientOptions> = {},
): Promise<GraphFixture> {
  const sim = await startGraphSimulator(simulatorOptions);
  const settings = loadSettings({
    MAILSWEEP_GRAPH_TENANT_ID: sim.tenantId,
    MAILSWEEP_GRAPH_CLIENT_ID: sim.clientId,
    MAILSWEEP_GRAPH_CLIENT_SECRET: sim.clientSecret,
    MAILSWEEP_GRAPH_BASE_URL: sim.baseUrl,
    MAILSWEEP_GRAPH_AUTHORITY_HOST: sim.authorityHost,
  });
  const { credential } = createGraphCredential(settings.graph, { ca: sim.certificate });
  const client = new GraphClient({
    credential,
    baseUrl: settings.graph.baseUrl,
    ca: sim.certificate,
    retry: FAST_RETRY,
    ...clientOptions,
  });
  return {
    sim,
    client,
    close: async () => {
      client.close();
      await sim.close();
    },
  };
}

/** A small RFC 5322 message. */
export function sampleMime(index: number, bodyBytes = 64): string {
  return [
    `Message-ID: <m${index}@simulator.test>`,
    'From: sender@example.org',
    'To: user@contoso.com',
    `Subject: sample ${index}`,
    '',
    'x'.repeat(bodyBytes),
    '',
  ].join('\r\n');
}

/** Reads a stream to the end. */
export async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) {
    chunks.push(Buffer.from(chunk as Buffer));
  }
  return Buffer.concat(chunks);
}
