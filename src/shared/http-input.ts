import { z } from 'zod';

/**
 * Parsing of HTTP query strings and JSON bodies with zod schemas, used by the API areas so
 * that each 400 names the field that failed in one format: `invalid query: field: message`.
 */

/** Maximum unknown parameter names one error message lists. */
const MAX_LISTED_UNKNOWN_KEYS = 10;

/** A zod issue as far as {@link describeIssues} reads it. */
interface IssueLike {
  path: PropertyKey[];
  message: string;
  code?: string;
  /** Unknown keys of a strict object, reported at the object's own path. */
  keys?: string[];
  /** Each alternative's issues when no member of a union matched. */
  errors?: IssueLike[][];
}

/**
 * Lists zod issues as `field: message`, joined with semicolons. A union that no member matched
 * is listed as its members' issues joined with `or`, so that the fields of each member appear.
 */
export function describeIssues(issues: readonly IssueLike[], prefix: PropertyKey[] = []): string {
  return issues.map((issue) => describeIssue(issue, prefix)).join('; ');
}

function describeIssue(issue: IssueLike, prefix: PropertyKey[]): string {
  const path = [...prefix, ...issue.path];
  if (issue.code === 'invalid_union' && issue.errors !== undefined && issue.errors.length > 0) {
    return issue.errors.map((branch) => describeIssues(branch, path)).join(' or ');
  }
  if (issue.code === 'unrecognized_keys' && issue.keys !== undefined) {
    // A few names are enough to find the mistake; thousands would only echo the request back.
    const keys = issue.keys
      .slice(0, MAX_LISTED_UNKNOWN_KEYS)
      .map((key) => [...path, key].map(String).join('.'));
    const more = issue.keys.length - keys.length;
    const listed = more > 0 ? `${keys.join(', ')} and ${more} more` : keys.join(', ');
    return `${listed}: unknown parameter`;
  }
  return path.length > 0 ? `${path.map(String).join('.')}: ${issue.message}` : issue.message;
}

/**
 * Parses a JSON request body with a zod schema. An empty body counts as `{}`, so that routes
 * whose fields are all optional accept a bare POST.
 */
export function parseJsonBody<T extends z.ZodType>(
  request: { body: Buffer },
  schema: T,
): { value: z.infer<T> } | { error: string } {
  let json: unknown = {};
  if (request.body.byteLength > 0) {
    try {
      json = JSON.parse(request.body.toString('utf8'));
    } catch {
      return { error: 'invalid body: must be a JSON object' };
    }
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    return { error: `invalid body: ${describeIssues(parsed.error.issues)}` };
  }
  return { value: parsed.data };
}

/**
 * Collects query parameters into an object, rejecting a parameter given twice, and parses it
 * with a zod schema.
 */
export function parseQueryParams<T extends z.ZodType>(
  params: URLSearchParams,
  schema: T,
): { value: z.infer<T> } | { error: string } {
  const raw: Record<string, string> = {};
  for (const [key, value] of params) {
    if (key in raw) {
      return { error: `invalid query: ${key} is given twice` };
    }
    raw[key] = value;
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    return { error: `invalid query: ${describeIssues(parsed.error.issues)}` };
  }
  return { value: parsed.data };
}

/** Query of the routes that take no parameters. */
export const emptyQuerySchema = z.strictObject({});

/**
 * Returns the 400 for a request to a route without query parameters that has some, naming each
 * unknown parameter, or undefined when the query string is empty.
 */
export function rejectQueryParameters(
  params: URLSearchParams,
): { status: 400; json: { error: string } } | undefined {
  const parsed = parseQueryParams(params, emptyQuerySchema);
  return 'error' in parsed ? { status: 400, json: { error: parsed.error } } : undefined;
}
