import { z } from 'zod';

import { requireAdmin, toAuthMode } from '../auth/require-admin.js';
import type { Settings } from '../config/settings.js';
import type { ApiRequest, ApiResponse, HandlerContext } from '../functions-host/registry.js';
import { createEmbeddedEngines } from '../scanning/engines.js';
import { createPipeline } from '../scanning/pipeline.js';
import { ScannerError, toError } from '../shared/errors.js';
import { silentLogger } from '../shared/logger.js';
import type { CompiledRuleSet } from './compile-rules.js';
import { createRuleHook, type RuleTraceEntry } from './evaluate-rules.js';
import { formatRuleIssue, RuleSetError } from './rule-errors.js';
import { parseRuleSetJson, type RuleStore } from './rule-store.js';

/** Largest .eml accepted by `POST /api/rules/test`, in bytes. */
export const MAX_RULE_TEST_MESSAGE_BYTES = 25 * 1024 * 1024;

/** The If-Match header of `PUT /api/rules`: the version number read, quoted or not. */
export const ifMatchVersionSchema = z
  .string()
  .regex(
    /^\s*(?:W\/)?"?([0-9]{1,15})"?\s*$/,
    'must be the version number of the rule set, such as "3"',
  )
  .optional();

/** The body of `POST /api/rules/test`: one message in RFC 5322 (.eml) form. */
export const ruleTestMessageSchema = z
  .string()
  .min(1)
  .meta({ description: 'An RFC 5322 message.' });

/** Settings and rule store of the rules endpoints. */
export interface RulesApiServices {
  settings: Settings;
  store: RuleStore;
}

/**
 * Handles `GET /api/rules` (the rule set in force with its version) and `PUT /api/rules` (store a
 * new version) for administrators. PUT takes an optional `If-Match` header with the version the
 * caller read, and returns 409 when another version was stored since.
 */
export async function handleRules(
  request: ApiRequest,
  context: HandlerContext,
  loadServices: () => Promise<RulesApiServices>,
): Promise<ApiResponse> {
  const services = await loadServices();
  const auth = requireAdmin(request, toAuthMode(services.settings.auth));
  if ('response' in auth) {
    return auth.response;
  }
  try {
    if (request.method === 'GET') {
      const stored = await services.store.read();
      return stored
        ? { status: 200, json: stored }
        : { status: 404, json: { error: 'No rule set has been stored' } };
    }
    const expectedVersion = parseIfMatch(request.headers.get('if-match'));
    if (expectedVersion === 'invalid') {
      return {
        status: 400,
        json: { error: 'invalid If-Match: must be the version number of the rule set, such as "3"' },
      };
    }
    const ruleSet = parseRuleSetJson(request.body.toString('utf8'));
    const stored = await services.store.write(ruleSet, {
      updatedBy: auth.principal.id,
      expectedVersion,
    });
    context.log('info', 'Rule set stored', {
      version: stored.version,
      principal: auth.principal.id,
    });
    return { status: 200, json: { version: stored.version, updatedAt: stored.updatedAt } };
  } catch (error) {
    return toErrorResponse(error, context);
  }
}

/**
 * Handles `POST /api/rules/test`: scans the .eml in the body with the embedded engines and the
 * stored rule set, and returns the verdict and, for each point, every rule evaluated and why it
 * matched or not. Nothing is stored and no mailbox is touched.
 */
export async function handleRulesTest(
  request: ApiRequest,
  context: HandlerContext,
  loadServices: () => Promise<RulesApiServices>,
): Promise<ApiResponse> {
  const services = await loadServices();
  const auth = requireAdmin(request, toAuthMode(services.settings.auth));
  if ('response' in auth) {
    return auth.response;
  }
  if (request.body.length === 0) {
    return {
      status: 400,
      json: { error: 'invalid body: must be a message in RFC 5322 (.eml) form' },
    };
  }
  try {
    const stored = await services.store.read();
    if (stored === undefined) {
      return { status: 404, json: { error: 'No rule set has been stored' } };
    }
    const ruleSet = await services.store.compile(stored.ruleSet, stored.version);
    return { status: 200, json: await testRuleSet(ruleSet, request.body, services.settings) };
  } catch (error) {
    return toErrorResponse(error, context);
  }
}

/** The outcome of a rule test: the verdict and the evaluation trace of each point. */
export interface RuleTestReport {
  version?: number;
  mode: 'enforce' | 'log-only';
  category: string;
  action: string;
  decidingRule?: string;
  ruleActions: unknown[];
  points: Record<'message' | 'attachment' | 'results', RuleTraceEntry[]>;
}

/** Scans one message with the embedded engines and a rule set, tracing every rule evaluated. */
export async function testRuleSet(
  ruleSet: CompiledRuleSet,
  raw: Uint8Array,
  settings: Settings,
): Promise<RuleTestReport> {
  const points: RuleTestReport['points'] = { message: [], attachment: [], results: [] };
  const pipeline = createPipeline({
    limits: settings.limits,
    actions: settings.actions,
    engines: await createEmbeddedEngines(settings),
    logger: silentLogger,
    rules: createRuleHook({
      current: () => ruleSet,
      trace: (entry) => points[entry.point].push(entry),
    }),
  });
  const { verdict } = await pipeline.scan(raw);
  return {
    version: ruleSet.version,
    mode: ruleSet.mode,
    category: verdict.category,
    action: verdict.action,
    decidingRule: verdict.decidingRule,
    ruleActions: verdict.ruleActions ?? [],
    points,
  };
}

function parseIfMatch(header: string | null): number | undefined | 'invalid' {
  const parsed = ifMatchVersionSchema.safeParse(header ?? undefined);
  if (!parsed.success) {
    return 'invalid';
  }
  return parsed.data === undefined ? undefined : Number(/[0-9]+/.exec(parsed.data)?.[0]);
}

function toErrorResponse(error: unknown, context: HandlerContext): ApiResponse {
  if (error instanceof RuleSetError) {
    return { status: 400, json: { error: describeRuleSetError(error), issues: error.issues } };
  }
  if (error instanceof ScannerError && error.code === 'blob-conflict') {
    return { status: 409, json: { error: error.message } };
  }
  context.log('error', 'Rule store request failed', { error: toError(error).message });
  const transient = error instanceof ScannerError && error.transient;
  return { status: transient ? 503 : 500, json: { error: 'The rule store could not be reached' } };
}

/** Formats the 400 message of an invalid rule set or list: every issue with its field's path. */
export function describeRuleSetError(error: RuleSetError): string {
  return `The rule set is invalid: ${error.issues.map(formatRuleIssue).join('; ')}`;
}
