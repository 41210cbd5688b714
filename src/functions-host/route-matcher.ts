import type { HttpRoute } from './registry.js';

/** A compiled route: its pattern and the names of its `{name}` parameters. */
export interface CompiledRoute {
  route: HttpRoute;
  pattern: RegExp;
  parameterNames: string[];
}

const PARAMETER = /^\{(\*?)([A-Za-z_][A-Za-z0-9_]*)(\??)\}$/;

/**
 * Compiles a Functions route template (`mailboxes/{mailbox}`, `{name?}`, `{*rest}`) into a
 * pattern over the path below /api. Constraints such as `{id:int}` are not supported.
 */
export function compileRoute(route: HttpRoute): CompiledRoute {
  const parameterNames: string[] = [];
  const segments = route.route.split('/').filter((segment) => segment !== '');
  let source = '';
  for (const segment of segments) {
    const match = PARAMETER.exec(segment);
    if (match === null) {
      source += `/${escapeRegExp(segment)}`;
      continue;
    }
    const [, catchAll, name, optional] = match;
    parameterNames.push(name ?? '');
    const value = catchAll === '*' ? '(.+)' : '([^/]+)';
    source += optional === '?' || catchAll === '*' ? `(?:/${value})?` : `/${value}`;
  }
  return { route, pattern: new RegExp(`^${source}/?$`, 'i'), parameterNames };
}

/**
 * Returns the routes whose template matches a path below /api, each with its parameters, in
 * registration order. A parameter that is not valid percent-encoding makes its route not match.
 */
export function matchRoutes(
  routes: readonly CompiledRoute[],
  path: string,
): { compiled: CompiledRoute; params: Record<string, string> }[] {
  const found: { compiled: CompiledRoute; params: Record<string, string> }[] = [];
  for (const compiled of routes) {
    const match = compiled.pattern.exec(path);
    if (match === null) continue;
    const params: Record<string, string> = {};
    try {
      compiled.parameterNames.forEach((name, index) => {
        const raw = match[index + 1];
        if (raw !== undefined) params[name] = decodeURIComponent(raw);
      });
    } catch {
      continue;
    }
    found.push({ compiled, params });
  }
  return found;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
