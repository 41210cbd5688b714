import { z } from 'zod';

/**
 * Parsing of HTTP query strings and JSON bodies with zod schemas, used by the API areas so
 * that each 400 names the field that failed in one format: `invalid query: field: message`.
 */

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
    const keys = issue.keys.map((key) => [...path, key].map(String).join('.'));
    return `${keys.join(', ')}: unknown parameter`;
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
