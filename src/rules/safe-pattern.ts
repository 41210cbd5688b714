import { RE2JS } from 're2js';

/** A compiled pattern that runs in time linear in its input. */
export interface SafePattern {
  test(text: string): boolean;
}

/**
 * Compiles a regular expression with RE2 semantics (re2js, a pure JavaScript port of RE2), so
 * matching never backtracks and its cost grows linearly with the input. Matching ignores case.
 * Constructs that need backtracking (backreferences, lookahead, lookbehind) do not compile.
 * @returns the pattern, or RE2's reason for rejecting it.
 * @see https://github.com/google/re2/wiki/Syntax
 */
export function compileSafePattern(source: string): SafePattern | { error: string } {
  try {
    const pattern = RE2JS.compile(source, RE2JS.CASE_INSENSITIVE);
    return { test: (text) => pattern.test(text) };
  } catch (thrown: unknown) {
    const reason = thrown instanceof Error ? thrown.message : 'unknown error';
    return { error: `is not a valid RE2 regular expression: ${reason}` };
  }
}
