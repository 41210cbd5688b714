import { z } from 'zod';

import { requireAdmin, toAuthMode } from '../auth/require-admin.js';
import type { ApiRequest, ApiResponse, HandlerContext } from '../functions-host/registry.js';
import { ScannerError, toError } from '../shared/errors.js';
import { RuleSetError } from './rule-errors.js';
import { MAX_LIST_ENTRIES, MAX_LIST_FILE_BYTES, parseListFile } from './rule-lists.js';
import { isListFileName } from './rule-store.js';
import type { RulesApiServices } from './rules-api.js';

/** Largest request body of `PUT /api/rules/lists/{name}`: a list file plus JSON quoting. */
export const MAX_LIST_REQUEST_BYTES = 2 * MAX_LIST_FILE_BYTES;

/** A JSON list body: an array of entries, or `{ "values": [...] }`. */
const jsonListSchema = z.union([
  z.array(z.string().max(1024)).max(MAX_LIST_ENTRIES),
  z.object({ values: z.array(z.string().max(1024)).max(MAX_LIST_ENTRIES) }),
]);

/**
 * Handles `GET`, `PUT` and `DELETE /api/rules/lists/{name}` for administrators: the list files that
 * a rule set names with `"file"`. PUT takes text (one entry per line) or JSON and validates it as a
 * list file before storing it. When the rule set in force uses the list, PUT stores that set again
 * as a new version, so that running scanners load the new entries. DELETE refuses a list the set in
 * force uses.
 */
export async function handleRuleList(
  request: ApiRequest,
  context: HandlerContext,
  loadServices: () => Promise<RulesApiServices>,
): Promise<ApiResponse> {
  const services = await loadServices();
  const auth = requireAdmin(request, toAuthMode(services.settings.auth));
  if ('response' in auth) {
    return auth.response;
  }
  const name = request.params.name ?? '';
  if (!isListFileName(name)) {
    return {
      status: 400,
      json: { error: 'A list name may contain only letters, digits, _ . and -, up to 128 characters' },
    };
  }
  try {
    if (request.method === 'GET') {
      const text = await services.store.readList(name);
      return text === undefined
        ? { status: 404, json: { error: `List ${name} was not found` } }
        : { status: 200, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: text };
    }
    if (request.method === 'DELETE') {
      return await deleteList(name, services);
    }
    return await putList(name, request, auth.principal.id, services, context);
  } catch (error) {
    return toErrorResponse(error, context);
  }
}

async function putList(
  name: string,
  request: ApiRequest,
  principal: string,
  services: RulesApiServices,
  context: HandlerContext,
): Promise<ApiResponse> {
  const text = toListText(request);
  if (typeof text !== 'string') {
    return { status: 400, json: { error: text.error } };
  }
  const parsed = parseListFile(text);
  if ('error' in parsed) {
    return {
      status: 400,
      json: {
        error: 'The list is invalid',
        issues: [{ path: `lists/${name}`, message: `list file ${name} ${parsed.error}` }],
      },
    };
  }
  await services.store.writeList(name, text);

  // Scanners compile a rule set when its version changes, so a changed list needs a new version.
  const stored = await services.store.read();
  let ruleSetVersion: number | undefined;
  if (stored !== undefined && usesListFile(stored.ruleSet, name)) {
    const next = await services.store.write(stored.ruleSet, {
      updatedBy: principal,
      expectedVersion: stored.version,
    });
    ruleSetVersion = next.version;
  }
  context.log('info', 'Rule list stored', {
    list: name,
    entries: parsed.values.size,
    ruleSetVersion,
    principal,
  });
  return { status: 200, json: { list: name, entries: parsed.values.size, ruleSetVersion } };
}

async function deleteList(name: string, services: RulesApiServices): Promise<ApiResponse> {
  const stored = await services.store.read();
  if (stored !== undefined && usesListFile(stored.ruleSet, name)) {
    return {
      status: 409,
      json: {
        error: `List ${name} is used by rule set version ${stored.version}. Store a set without it first`,
      },
    };
  }
  const deleted = await services.store.deleteList(name);
  if (!deleted) {
    return { status: 404, json: { error: `List ${name} was not found` } };
  }
  return { status: 204 };
}

/** Reads the body as list text: JSON for `application/json`, else UTF-8 lines. */
function toListText(request: ApiRequest): string | { error: string } {
  const contentType = (request.headers.get('content-type') ?? '').toLowerCase();
  const body = request.body.toString('utf8');
  if (!contentType.startsWith('application/json')) {
    return body.length > MAX_LIST_FILE_BYTES
      ? { error: `The list is larger than ${MAX_LIST_FILE_BYTES} bytes` }
      : body;
  }
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return { error: 'The body is not valid JSON' };
  }
  const parsed = jsonListSchema.safeParse(json);
  if (!parsed.success) {
    return {
      error: `The JSON body must be an array of up to ${MAX_LIST_ENTRIES} strings or { "values": [...] }`,
    };
  }
  const values = Array.isArray(parsed.data) ? parsed.data : parsed.data.values;
  if (values.some((value) => /[\r\n]/.test(value))) {
    return { error: 'A list entry must not contain a line break' };
  }
  return `${values.join('\n')}\n`;
}

/** True when a stored rule set document names the list file in its `lists`. */
export function usesListFile(ruleSet: unknown, file: string): boolean {
  const lists = z.object({ lists: z.record(z.string(), z.unknown()) }).safeParse(ruleSet);
  if (!lists.success) {
    return false;
  }
  return Object.values(lists.data.lists).some(
    (list) => typeof list === 'object' && list !== null && Reflect.get(list, 'file') === file,
  );
}

function toErrorResponse(error: unknown, context: HandlerContext): ApiResponse {
  if (error instanceof RuleSetError) {
    return { status: 400, json: { error: 'The rule set is invalid', issues: error.issues } };
  }
  if (error instanceof ScannerError && error.code === 'blob-conflict') {
    return { status: 409, json: { error: error.message } };
  }
  context.log('error', 'Rule list request failed', { error: toError(error).message });
  const transient = error instanceof ScannerError && error.transient;
  return { status: transient ? 503 : 500, json: { error: 'The rule store could not be reached' } };
}
