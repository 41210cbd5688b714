// Engine comparison phases of `npm run bench`: the same corpus through the embedded engines only,
// through the embedded engines plus clamd, and with rspamd in place of the embedded classifier.
// `npm run bench` runs under scripts/with-services.mjs, which starts clamd and rspamd on
// 127.0.0.1 and passes their addresses in TEST_CLAMD_HOST, TEST_CLAMD_PORT and TEST_RSPAMD_URL.
import { loadSettings } from '../src/config/settings.js';
import { createClamdClient } from '../src/scanning/clamd/index.js';
import { createEngines } from '../src/scanning/engines.js';
import { createPipeline } from '../src/scanning/pipeline.js';
import { silentLogger } from '../src/shared/logger.js';
import { loadCorpus } from './corpus.js';

/** Scans of one message for the clamd round-trip median. */
const ROUND_TRIPS = 2000;

/** Messages scanned at once, as a queue consumer with several jobs in flight would. */
const CONCURRENCY = 4;

/** The row shape bench.ts prints. */
interface EnginePhaseResult {
  phase: string;
  messages: number;
  bytes: number;
  seconds: number;
  maxRssMb: number;
}

function daemonEnvironment(): Record<string, string> {
  const { TEST_CLAMD_HOST, TEST_CLAMD_PORT, TEST_RSPAMD_URL } = process.env;
  if (!TEST_CLAMD_HOST || !TEST_CLAMD_PORT || !TEST_RSPAMD_URL) {
    throw new Error('run the benchmark with `npm run bench`, which starts clamd and rspamd');
  }
  return {
    MAILSWEEP_CLAMD_HOST: TEST_CLAMD_HOST,
    MAILSWEEP_CLAMD_PORT: TEST_CLAMD_PORT,
    MAILSWEEP_RSPAMD_URL: TEST_RSPAMD_URL,
  };
}

/** Scans the corpus once through the engines the settings choose, CONCURRENCY messages at a time. */
async function scanCorpus(label: string, env: Record<string, string>): Promise<EnginePhaseResult> {
  const corpus = loadCorpus();
  const settings = loadSettings({ MAILSWEEP_ORG_DOMAINS: 'contoso.com', ...env });
  const pipeline = createPipeline({
    limits: settings.limits,
    actions: settings.actions,
    engines: await createEngines(settings),
    logger: silentLogger,
  });
  let next = 0;
  const categories: Record<string, number> = {};
  const worker = async (): Promise<void> => {
    while (next < corpus.length) {
      const message = corpus[next++];
      if (message) {
        const { verdict } = await pipeline.scan(message.raw);
        categories[verdict.category] = (categories[verdict.category] ?? 0) + 1;
      }
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const seconds = (performance.now() - started) / 1000;
  const bytes = corpus.reduce((sum, message) => sum + message.raw.length, 0);
  const maxRssMb = process.resourceUsage().maxRSS / 1024;
  return { phase: `${label} ${JSON.stringify(categories)}`, messages: corpus.length, bytes, seconds, maxRssMb };
}

/** Median time of one clamd INSTREAM exchange for the corpus message of median size. */
async function clamdRoundTrip(): Promise<EnginePhaseResult> {
  const env = daemonEnvironment();
  const corpus = [...loadCorpus()].sort((a, b) => a.raw.length - b.raw.length);
  const typical = corpus[Math.floor(corpus.length / 2)];
  if (!typical) {
    throw new Error('the corpus is empty');
  }
  const client = createClamdClient({
    host: env.MAILSWEEP_CLAMD_HOST ?? '',
    port: Number(env.MAILSWEEP_CLAMD_PORT),
    maxConnections: 1,
    connectTimeoutMs: 2000,
    readTimeoutMs: 10_000,
  });
  const times: number[] = [];
  for (let index = 0; index < ROUND_TRIPS; index++) {
    const started = performance.now();
    await client.scan(typical.raw, performance.now() + 10_000);
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)] ?? 0;
  const p95 = times[Math.floor(times.length * 0.95)] ?? 0;
  const phase = `clamd round trip, ${typical.raw.length}-byte message: median ${median.toFixed(3)} ms, p95 ${p95.toFixed(3)} ms`;
  return { phase, messages: ROUND_TRIPS, bytes: 0, seconds: 0, maxRssMb: process.resourceUsage().maxRSS / 1024 };
}

/** Phases that bench.ts adds to its table, each run in its own process. */
export const ENGINE_COMPARISON_PHASES: Record<string, () => Promise<EnginePhaseResult>> = {
  'engines-embedded': () => scanCorpus('engines: embedded only', {}),
  'engines-clamd': () =>
    scanCorpus('engines: embedded + clamd (parts)', {
      ...daemonEnvironment(),
      MAILSWEEP_ENGINES_ANTIVIRUS: 'embedded,clamd',
    }),
  'engines-rspamd': () =>
    scanCorpus('engines: embedded AV + rspamd instead of the classifier', {
      ...daemonEnvironment(),
      MAILSWEEP_ENGINES_ANTISPAM: 'rspamd',
    }),
  'clamd-round-trip': clamdRoundTrip,
};
