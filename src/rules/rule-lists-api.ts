import { z } from 'zod';

import { requireAdmin, toAuthMode } from '../auth/require-admin.js';
import type { ApiRequest, ApiResponse, HandlerContext } from '../functions-host/registry.js';
import { ScannerError, toError } from '../shared/errors.js';
import { describeIssues } from '../shared/http-input.js';
import { RuleSetError } from './rule-errors.js';
import { MAX_LIST_ENTRIES, MAX_LIST_FILE_BYTES, parseListFile } from './rule-lists.js';
import { LIST_FILE_NAME } from './rule-store.js';
import { describeRuleSetError, type RulesApiServices } from './rules-api.js';

/** Largest request body of `PUT /api/rules/lists/{name}`: a list file plus JSON quoting. */
export const MAX_LIST_REQUEST_BYTES = 2 * MAX_LIST_FILE_BYTES;

const listEntrySchema = z.string().max(1024).regex(/^[^\r\n]*$/, 'must not contain a line break');

/** A JSON list body: an array of entries, or `{ "values": [...] }`. */
export const jsonListSchema = z.union([
  z.array(listEntrySchema).max(MAX_LIST_ENTRIES),
  z.object({ values: z.array(listEntrySchema).max(MAX_LIST_ENTRIES) }),
]);

/** A text list body: one entry per line, checked as a list file before it is stored. */
export const textListSchema = z.string().meta({
  description: `One entry per line, at most ${MAX_LIST_FILE_BYTES} bytes.`,
});

/** The `{name}` of `/api/rules/lists/{name}`: the list file's name. */
export const listNameSchema = z
  .string()
  .regex(LIST_FILE_NAME, 'may contain only letters, digits, _ . and -, up to 128 characters');

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
  const nameCheck = listNameSchema.safeParse(request.params.name ?? '');
  if (!nameCheck.success) {
    return { status: 400, json: { error: `invalid name: ${nameCheck.error.issues[0]?.message}` } };
  }
  const name = nameCheck.data;
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
    const issue = { path: `lists/${name}`, message: `list file ${name} ${parsed.error}` };
    return {
      status: 400,
      json: { error: `The list is invalid: ${issue.path}: ${issue.message}`, issues: [issue] },
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
      ? { error: `invalid body: the list is larger than ${MAX_LIST_FILE_BYTES} bytes` }
      : body;
  }
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return { error: 'invalid body: must be JSON' };
  }
  const parsed = jsonListSchema.safeParse(json);
  if (!parsed.success) {
    return { error: `invalid body: ${describeIssues(parsed.error.issues)}` };
  }
  const values = Array.isArray(parsed.data) ? parsed.data : parsed.data.values;
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
    return { status: 400, json: { error: describeRuleSetError(error), issues: error.issues } };
  }
  if (error instanceof ScannerError && error.code === 'blob-conflict') {
    return { status: 409, json: { error: error.message } };
  }
  context.log('error', 'Rule list request failed', { error: toError(error).message });
  const transient = error instanceof ScannerError && error.transient;
  return { status: transient ? 503 : 500, json: { error: 'The rule store could not be reached' } };
}
