/**
 * Receives the token `prefix + value`, or `prefix` alone when `value` is undefined. Passing the
 * fixed prefix and the variable value separately lets a hashing sink hash them without joining.
 * NOTE: a one-parameter callback such as `(token) => tokens.push(token)` type-checks here but
 * would drop `value`, so callers of emitHeaderTokens and emitUrlTokens must accept both.
 */
export type EmitToken = (prefix: string, value?: string) => void;

/**
 * Receives the tokens of a message in the order the tokenizer finds them, duplicates included.
 * Word tokens arrive through {@link TokenSink.word} or {@link TokenSink.asciiWord}, and the sink
 * also emits the pair of each word token with the word token before it, as
 * `${previous} ${current}`, until {@link TokenSink.endWordRun} breaks the run. A word token that
 * contains `:` (`number:4`, `long:a:20`) is paired with the word before it but starts no pair.
 */
export interface TokenSink {
  /** Receives a token that is not a word of the text: header, URL, email and count tokens. */
  readonly emit: EmitToken;
  /** Receives a word token. */
  word(token: string): void;
  /**
   * Receives the word token `text.slice(start, end).toLowerCase()`, for a range of 3 to 12
   * ASCII characters without digits or `:`, so that a sink can hash it without slicing.
   */
  asciiWord(text: string, start: number, end: number): void;
  /** Ends the current run of word pairs: the next word token is paired with nothing. */
  endWordRun(): void;
  /**
   * Receives the token `prefix + text.slice(start, end)`, case kept, like {@link emit} but
   * without a string for the slice. It is not a word token, so it pairs with nothing.
   */
  rangeToken(prefix: string, text: string, start: number, end: number): void;
}

/** A sink that passes every token, word pairs included, to `add` as a string. */
export class StringTokenSink implements TokenSink {
  private previous = '';

  constructor(private readonly add: (token: string) => void) {}

  readonly emit = (prefix: string, value?: string): void => {
    this.add(value === undefined ? prefix : prefix + value);
  };

  word(token: string): void {
    this.add(token);
    if (this.previous.length > 0) {
      this.add(`${this.previous} ${token}`);
    }
    this.previous = token.includes(':') ? '' : token;
  }

  asciiWord(text: string, start: number, end: number): void {
    this.word(text.slice(start, end).toLowerCase());
  }

  endWordRun(): void {
    this.previous = '';
  }

  rangeToken(prefix: string, text: string, start: number, end: number): void {
    this.add(prefix + text.slice(start, end));
  }
}
