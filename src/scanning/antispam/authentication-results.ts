/** One `method=result` statement of an Authentication-Results field (RFC 8601 `resinfo`). */
export interface AuthenticationResult {
  /** Authentication method, lower case: `spf`, `dkim`, `dmarc`, `compauth`, `arc`... */
  method: string;
  /** Result, lower case: `pass`, `fail`, `softfail`, `neutral`, `none`, `temperror`... */
  result: string;
  /** Value of `reason=`, if given. */
  reason?: string;
  /**
   * Other `name=value` pairs, keyed by lower-case name: properties such as `header.from` and
   * `smtp.mailfrom`, and extensions such as Microsoft's `action` on dmarc.
   */
  properties: Record<string, string>;
}

/** A parsed Authentication-Results field. */
export interface AuthenticationResults {
  /**
   * Host that performed the checks. Undefined when the field starts with a result, as the
   * fields that Exchange Online stamps do.
   */
  authservId?: string;
  results: AuthenticationResult[];
}

const MAX_FIELD_CHARS = 8192;
const MAX_RESULTS = 32;

/**
 * Parses an Authentication-Results field value (RFC 8601 section 2.2) tolerantly: comments are
 * dropped, a missing authserv-id is accepted, and a statement that does not start with
 * `method=result` is skipped instead of failing the whole field.
 * @see https://www.rfc-editor.org/rfc/rfc8601#section-2.2
 */
export function parseAuthenticationResults(value: string): AuthenticationResults {
  const statements = splitStatements(stripComments(value.slice(0, MAX_FIELD_CHARS)));
  const parsed: AuthenticationResults = { results: [] };

  let first = true;
  for (const statement of statements) {
    const words = splitWords(statement);
    if (words.length === 0) {
      continue;
    }
    if (first && !words[0].includes('=')) {
      // authserv-id [version]: a host name, optionally followed by a version number.
      parsed.authservId = words[0].toLowerCase();
      words.splice(0, /^\d+$/.test(words[1] ?? '') ? 2 : 1);
    }
    first = false;
    const result = toResult(words);
    if (result && parsed.results.length < MAX_RESULTS) {
      parsed.results.push(result);
    }
  }
  return parsed;
}

function toResult(words: string[]): AuthenticationResult | undefined {
  const head = /^([a-z0-9_-]+)(?:\/\d+)?=([a-z0-9_-]+)$/i.exec(words[0] ?? '');
  if (!head) {
    return undefined;
  }
  const result: AuthenticationResult = {
    method: head[1].toLowerCase(),
    result: head[2].toLowerCase(),
    properties: {},
  };
  for (const word of words.slice(1)) {
    const separator = word.indexOf('=');
    if (separator <= 0) {
      continue;
    }
    const name = word.slice(0, separator).toLowerCase();
    const propertyValue = word.slice(separator + 1).replace(/^"|"$/g, '');
    if (name === 'reason') {
      result.reason = propertyValue;
    } else {
      result.properties[name] = propertyValue;
    }
  }
  return result;
}

/** Removes RFC 5322 comments, which may nest and may contain quoted pairs. */
function stripComments(value: string): string {
  let output = '';
  let depth = 0;
  let quoted = false;
  for (let index = 0; index < value.length; index += 1) {
    const char = value[index];
    if (char === '\\' && (quoted || depth > 0)) {
      if (depth === 0) {
        output += value.slice(index, index + 2);
      }
      index += 1;
    } else if (char === '"' && depth === 0) {
      quoted = !quoted;
      output += char;
    } else if (char === '(' && !quoted) {
      depth += 1;
      output += depth === 1 ? ' ' : '';
    } else if (char === ')' && !quoted && depth > 0) {
      depth -= 1;
    } else if (depth === 0) {
      output += char;
    }
  }
  return output;
}

/** Splits on semicolons outside quoted strings. */
function splitStatements(value: string): string[] {
  const statements: string[] = [];
  let current = '';
  let quoted = false;
  for (const char of value) {
    if (char === '"') {
      quoted = !quoted;
    }
    if (char === ';' && !quoted) {
      statements.push(current);
      current = '';
    } else {
      current += char;
    }
  }
  statements.push(current);
  return statements;
}

/** Splits a statement into `name=value` words, joining spaces around `=` and inside quotes. */
function splitWords(statement: string): string[] {
  const normalized = statement.replace(/\s*=\s*/g, '=').trim();
  return normalized.match(/(?:[^\s"]+|"(?:[^"\\]|\\.)*")+/g) ?? [];
}
