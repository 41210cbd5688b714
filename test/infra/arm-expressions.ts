/**
 * A small evaluator for the ARM template expressions that `bicep build` emits, enough to read
 * resource names, app settings and role assignments out of a compiled template. What it cannot
 * know before deployment (reference(), resourceGroup(), uniqueString() ...) becomes an
 * `Unresolved` value that keeps the expression's text, so two unresolved values can still be
 * compared.
 */

/** A value known only at deployment time, such as another deployment's output. */
export class Unresolved {
  /**
   * @param text the expression as written in the template
   * @param knownPrefix the value's leading text when it is known, as in a partly known format()
   */
  constructor(
    readonly text: string,
    readonly knownPrefix = '',
  ) {}
}

/** One of several values, from an `if()` whose condition is known only at deployment time. */
export class Choice {
  constructor(readonly options: readonly unknown[]) {}
}

/** A resource id built by resourceId(): its type and name segments. */
export interface ResourceIdValue {
  kind: 'resourceId';
  type: string;
  segments: unknown[];
}

/** Parameters, variables and the loop position an expression is evaluated with. */
export interface Scope {
  parameters: Record<string, unknown>;
  variables: Record<string, unknown>;
  copyIndex?: number;
}

type Node =
  | { kind: 'string'; value: string }
  | { kind: 'number'; value: number }
  | { kind: 'call'; name: string; args: Node[] }
  | { kind: 'member'; target: Node; name: string }
  | { kind: 'index'; target: Node; index: Node };

/** Evaluates a template value: expressions in strings, and objects and arrays member by member. */
export function evaluateValue(value: unknown, scope: Scope): unknown {
  if (typeof value === 'string') {
    return evaluateString(value, scope);
  }
  if (Array.isArray(value)) {
    return value.map((item) => evaluateValue(item, scope));
  }
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, evaluateValue(item, scope)]),
    );
  }
  return value;
}

/** Evaluates one string: `[...]` is an expression, `[[` escapes a literal bracket. */
export function evaluateString(text: string, scope: Scope): unknown {
  if (!text.startsWith('[') || !text.endsWith(']')) {
    return text;
  }
  if (text.startsWith('[[')) {
    return text.slice(1);
  }
  const parser = new Parser(text.slice(1, -1));
  const node = parser.parseExpression();
  parser.expectEnd();
  return evaluateNode(node, scope, text);
}

/** Lists every value a possibly conditional value can take. */
export function possibleValues(value: unknown): unknown[] {
  return value instanceof Choice ? value.options.flatMap(possibleValues) : [value];
}

function evaluateNode(node: Node, scope: Scope, source: string): unknown {
  switch (node.kind) {
    case 'string':
    case 'number':
      return node.value;
    case 'member': {
      const target = evaluateNode(node.target, scope, source);
      return readMember(target, node.name, source);
    }
    case 'index': {
      const target = evaluateNode(node.target, scope, source);
      const index = evaluateNode(node.index, scope, source);
      return readMember(target, index, source);
    }
    case 'call':
      return evaluateCall(node, scope, source);
  }
}

function readMember(target: unknown, key: unknown, source: string): unknown {
  if (target instanceof Unresolved || target instanceof Choice || key instanceof Unresolved) {
    return new Unresolved(source);
  }
  if (Array.isArray(target) && typeof key === 'number') {
    return target[key];
  }
  if (target !== null && typeof target === 'object' && typeof key === 'string') {
    return (target as Record<string, unknown>)[key];
  }
  return new Unresolved(source);
}

function evaluateCall(node: Extract<Node, { kind: 'call' }>, scope: Scope, source: string): unknown {
  const name = node.name.toLowerCase();
  const args = () => node.args.map((arg) => evaluateNode(arg, scope, source));
  switch (name) {
    case 'parameters':
      return lookUp(scope.parameters, args()[0], source);
    case 'variables':
      return lookUp(scope.variables, args()[0], source);
    case 'copyindex':
      return scope.copyIndex ?? new Unresolved(source);
    case 'if': {
      const [condition, whenTrue, whenFalse] = args();
      if (typeof condition === 'boolean') {
        return condition ? whenTrue : whenFalse;
      }
      return new Choice([whenTrue, whenFalse]);
    }
    case 'equals': {
      const [left, right] = args();
      return isKnown(left) && isKnown(right) ? left === right : new Unresolved(source);
    }
    case 'not': {
      const [operand] = args();
      return typeof operand === 'boolean' ? !operand : new Unresolved(source);
    }
    case 'and':
    case 'or':
      return evaluateLogic(name, args(), source);
    case 'string': {
      const [operand] = args();
      return isKnown(operand) ? String(operand) : new Unresolved(source);
    }
    case 'length': {
      const [operand] = args();
      return Array.isArray(operand) || typeof operand === 'string'
        ? operand.length
        : new Unresolved(source);
    }
    case 'format':
      return format(args(), source);
    case 'createobject':
      return createObject(args());
    case 'createarray':
      return args();
    case 'union':
      return union(args(), source);
    case 'resourceid':
      return toResourceId(args());
    case 'subscriptionresourceid':
      return toResourceId(args());
    default:
      return new Unresolved(source);
  }
}

function lookUp(values: Record<string, unknown>, key: unknown, source: string): unknown {
  if (typeof key === 'string' && Object.hasOwn(values, key)) {
    return values[key];
  }
  return new Unresolved(source);
}

function isKnown(value: unknown): boolean {
  return !(value instanceof Unresolved) && !(value instanceof Choice);
}

function evaluateLogic(name: 'and' | 'or', operands: unknown[], source: string): unknown {
  if (!operands.every((operand) => typeof operand === 'boolean')) {
    return new Unresolved(source);
  }
  return name === 'and' ? operands.every(Boolean) : operands.some(Boolean);
}

/** Fills `{0}`-style placeholders; with an unknown argument, only the text before it is kept. */
function format(args: unknown[], source: string): unknown {
  const [template, ...values] = args;
  if (typeof template !== 'string') {
    return new Unresolved(source);
  }
  let result = '';
  for (const part of template.split(/(\{\d+\})/)) {
    const placeholder = /^\{(\d+)\}$/.exec(part);
    if (placeholder === null) {
      result += part;
      continue;
    }
    const value = values[Number(placeholder[1])];
    if (!isKnown(value)) {
      return new Unresolved(source, result);
    }
    result += String(value);
  }
  return result;
}

function createObject(args: unknown[]): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (let i = 0; i + 1 < args.length; i += 2) {
    result[String(args[i])] = args[i + 1];
  }
  return result;
}

function union(args: unknown[], source: string): unknown {
  if (args.every((arg) => arg !== null && typeof arg === 'object' && !Array.isArray(arg) && isKnown(arg))) {
    return Object.assign({}, ...args);
  }
  if (args.every(Array.isArray)) {
    return [...new Set(args.flat())];
  }
  return new Unresolved(source);
}

/**
 * Reads resourceId() and subscriptionResourceId(). A leading subscription or resource group
 * argument is told apart by position: the type is the first argument that contains a slash.
 */
function toResourceId(args: unknown[]): ResourceIdValue {
  const typeIndex = args.findIndex((arg) => typeof arg === 'string' && arg.includes('/'));
  return {
    kind: 'resourceId',
    type: String(args[typeIndex]),
    segments: args.slice(typeIndex + 1),
  };
}

/** Recursive-descent parser of the expression language inside `[...]`. */
class Parser {
  private position = 0;

  constructor(private readonly text: string) {}

  parseExpression(): Node {
    let node = this.parsePrimary();
    for (;;) {
      this.skipSpace();
      const next = this.text[this.position];
      if (next === '.') {
        this.position += 1;
        node = { kind: 'member', target: node, name: this.readIdentifier() };
      } else if (next === '[') {
        this.position += 1;
        const index = this.parseExpression();
        this.expect(']');
        node = { kind: 'index', target: node, index };
      } else {
        return node;
      }
    }
  }

  expectEnd(): void {
    this.skipSpace();
    if (this.position !== this.text.length) {
      throw new Error(`Unexpected text at ${this.position} in expression: ${this.text}`);
    }
  }

  private parsePrimary(): Node {
    this.skipSpace();
    const next = this.text[this.position];
    if (next === "'") {
      return { kind: 'string', value: this.readString() };
    }
    if (next !== undefined && /[-0-9]/.test(next)) {
      const match = /^-?[0-9]+/.exec(this.text.slice(this.position));
      this.position += match?.[0].length ?? 0;
      return { kind: 'number', value: Number(match?.[0]) };
    }
    const name = this.readIdentifier();
    this.expect('(');
    const args: Node[] = [];
    this.skipSpace();
    if (this.text[this.position] === ')') {
      this.position += 1;
      return { kind: 'call', name, args };
    }
    for (;;) {
      args.push(this.parseExpression());
      this.skipSpace();
      if (this.text[this.position] === ',') {
        this.position += 1;
        continue;
      }
      this.expect(')');
      return { kind: 'call', name, args };
    }
  }

  private readString(): string {
    let value = '';
    this.position += 1;
    for (;;) {
      const char = this.text[this.position];
      if (char === undefined) {
        throw new Error(`Unterminated string in expression: ${this.text}`);
      }
      this.position += 1;
      if (char === "'") {
        if (this.text[this.position] !== "'") {
          return value;
        }
        this.position += 1;
      }
      value += char;
    }
  }

  private readIdentifier(): string {
    this.skipSpace();
    const match = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.text.slice(this.position));
    if (match === null) {
      throw new Error(`Expected a name at ${this.position} in expression: ${this.text}`);
    }
    this.position += match[0].length;
    return match[0];
  }

  private expect(char: string): void {
    this.skipSpace();
    if (this.text[this.position] !== char) {
      throw new Error(`Expected '${char}' at ${this.position} in expression: ${this.text}`);
    }
    this.position += 1;
  }

  private skipSpace(): void {
    while (this.text[this.position] === ' ') {
      this.position += 1;
    }
  }
}
