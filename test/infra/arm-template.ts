import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';

import {
  Unresolved,
  evaluateString,
  evaluateValue,
  type ResourceIdValue,
  type Scope,
} from './arm-expressions.js';

/**
 * Reads a compiled ARM template into a flat list of the resources it deploys, each with its
 * evaluated name segments and properties, following nested module deployments.
 */

export const REPOSITORY_ROOT = path.resolve(import.meta.dirname, '../..');
export const MAIN_BICEP = path.join(REPOSITORY_ROOT, 'infra/bicep/main.bicep');

/** One resource the template deploys (`existing` references and false conditions left out). */
export interface DeployedResource {
  type: string;
  /** Name segments after the account, e.g. `[account, 'default', container]` for a container. */
  nameSegments: unknown[];
  /** Evaluated `properties`. */
  properties: Record<string, unknown>;
  /** Evaluated `scope` of an extension resource such as a role assignment. */
  scope?: unknown;
  /** Evaluated `identity` of a resource with managed identities. */
  identity?: unknown;
  /** Names of the module deployments that contain it, outermost first. */
  deploymentPath: string[];
}

/**
 * Finds the Bicep CLI that scripts/check-bicep.sh restores from NuGet, at the version that
 * infra/tools/bicep-cli.csproj pins. Returns undefined when it has not been restored.
 */
export function findBicepCli(): string | undefined {
  const project = readFileSync(path.join(REPOSITORY_ROOT, 'infra/tools/bicep-cli.csproj'), 'utf8');
  const version = /Azure\.Bicep\.CommandLine\.linux-x64"\s+Version="\[([^\]]+)\]"/.exec(project)?.[1];
  if (version === undefined) {
    throw new Error('infra/tools/bicep-cli.csproj does not pin Azure.Bicep.CommandLine.linux-x64');
  }
  const packages = process.env.NUGET_PACKAGES ?? path.join(homedir(), '.nuget/packages');
  const cli = path.join(packages, 'azure.bicep.commandline.linux-x64', version, 'tools/bicep');
  return existsSync(cli) ? cli : undefined;
}

/** Compiles a Bicep file to an ARM template object. */
export function compileBicep(cli: string, file: string): Record<string, unknown> {
  const json = execFileSync(cli, ['build', file, '--stdout'], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  return JSON.parse(json) as Record<string, unknown>;
}

/**
 * Lists every resource the template deploys. With `defaults`, the top-level parameters take their
 * default values; with `unknown`, they stay unresolved, as values an operator may supply. An
 * object passes those parameters' values, and the others take their defaults.
 */
export function listDeployedResources(
  template: Record<string, unknown>,
  parameters: 'defaults' | 'unknown' | Record<string, unknown> = 'defaults',
): DeployedResource[] {
  const resources: DeployedResource[] = [];
  const passed: Record<string, unknown> = typeof parameters === 'object' ? { ...parameters } : {};
  if (parameters === 'unknown') {
    for (const name of Object.keys((template.parameters ?? {}) as object)) {
      passed[name] = new Unresolved(`parameters('${name}')`);
    }
  }
  collectResources(template, passed, [], resources);
  return resources;
}

/** Reads `parameters('x')` values passed to a template, falling back to the defaults. */
function templateScope(
  template: Record<string, unknown>,
  passed: Record<string, unknown>,
): Scope {
  const parameters: Record<string, unknown> = {};
  const declared = (template.parameters ?? {}) as Record<string, { defaultValue?: unknown }>;
  const scope: Scope = { parameters, variables: {} };
  for (const [name, declaration] of Object.entries(declared)) {
    if (Object.hasOwn(passed, name)) {
      parameters[name] = passed[name];
    } else if (declaration.defaultValue !== undefined) {
      parameters[name] = evaluateValue(declaration.defaultValue, scope);
    } else {
      parameters[name] = new Unresolved(`parameters('${name}')`);
    }
  }
  // Variables may refer to each other in any order, so each is evaluated on first use.
  const variables = (template.variables ?? {}) as Record<string, unknown>;
  for (const [name, value] of Object.entries(variables)) {
    if (name === 'copy') {
      continue;
    }
    let cached: { value: unknown } | undefined;
    Object.defineProperty(scope.variables, name, {
      enumerable: true,
      get: () => (cached ??= { value: evaluateValue(value, scope) }).value,
    });
  }
  return scope;
}

function collectResources(
  template: Record<string, unknown>,
  passed: Record<string, unknown>,
  deploymentPath: string[],
  into: DeployedResource[],
): void {
  const scope = templateScope(template, passed);
  const declared = template.resources ?? [];
  const list = (Array.isArray(declared) ? declared : Object.values(declared)) as Record<
    string,
    unknown
  >[];
  for (const resource of list) {
    if (resource.existing === true) {
      continue;
    }
    for (const copyScope of loopScopes(resource, scope)) {
      if (resource.condition !== undefined && evaluateValue(resource.condition, copyScope) !== true) {
        continue;
      }
      addResource(resource, copyScope, deploymentPath, into);
    }
  }
}

/** Returns one scope per loop iteration, or the scope itself for a resource without `copy`. */
function loopScopes(resource: Record<string, unknown>, scope: Scope): Scope[] {
  const copy = resource.copy as { count?: unknown } | undefined;
  if (copy === undefined) {
    return [scope];
  }
  const count = evaluateValue(copy.count, scope);
  if (typeof count !== 'number') {
    throw new Error(`Cannot tell how many copies of ${String(resource.type)} the template makes`);
  }
  return Array.from({ length: count }, (_, index) => ({ ...scope, copyIndex: index }));
}

function addResource(
  resource: Record<string, unknown>,
  scope: Scope,
  deploymentPath: string[],
  into: DeployedResource[],
): void {
  const type = String(resource.type);
  const properties = (resource.properties ?? {}) as Record<string, unknown>;
  const name = evaluateString(String(resource.name), scope);
  if (type === 'Microsoft.Resources/deployments') {
    const passed = (properties.parameters ?? {}) as Record<string, { value?: unknown }>;
    const values = Object.fromEntries(
      Object.entries(passed).map(([key, entry]) => [key, evaluateValue(entry.value, scope)]),
    );
    const inner = properties.template as Record<string, unknown>;
    collectResources(inner, values, [...deploymentPath, String(name)], into);
    return;
  }
  into.push({
    type,
    nameSegments: splitName(resource.name, name, scope),
    properties: evaluateValue(properties, scope) as Record<string, unknown>,
    scope: resource.scope === undefined ? undefined : evaluateValue(resource.scope, scope),
    identity: resource.identity === undefined ? undefined : evaluateValue(resource.identity, scope),
    deploymentPath,
  });
}

/** Splits a child resource's name into its segments; format() names keep each argument. */
function splitName(raw: unknown, evaluated: unknown, scope: Scope): unknown[] {
  const text = String(raw);
  const format = /^\[format\('(\{0\}(?:\/\{\d\})*)', (.*)\)\]$/.exec(text);
  if (format !== null) {
    const formatted = evaluateString(`[createArray(${format[2]})]`, scope);
    if (Array.isArray(formatted)) {
      return formatted;
    }
  }
  return typeof evaluated === 'string' ? evaluated.split('/') : [evaluated];
}

/** Returns the last name segment of a resource, e.g. a container's or a queue's own name. */
export function ownName(resource: DeployedResource): unknown {
  return resource.nameSegments.at(-1);
}

/** Reads a role assignment's scope as a resource id, when it is one. */
export function scopeOf(resource: DeployedResource): ResourceIdValue | undefined {
  const scope = resource.scope as ResourceIdValue | undefined;
  return scope?.kind === 'resourceId' ? scope : undefined;
}
