import { analyzeHtmlBody } from '../html-body-analysis.js';
import type { MessageView } from '../types.js';
import { emitHeaderTokens } from './header-tokens.js';
import { digestHtml, type HtmlDigest } from './html-text.js';
import { stripListFooter } from './list-footer.js';
import { emitTextTokens, emitUrlTokens } from './text-tokens.js';
import { StringTokenSink, type EmitToken, type TokenSink } from './token-sink.js';

/**
 * Version of the token scheme. A model records the version it was trained with, and loading a
 * model of another version fails, because its token counts would no longer match.
 */
export const TOKENIZER_VERSION = 2;

/** Most distinct tokens taken from one message; a message with more is cut off at this count. */
export const MAX_TOKENS_PER_MESSAGE = 3000;
/** Most characters read from one text or HTML body. */
export const MAX_BODY_CHARS = 60_000;
/** Most bodies read from one message, nested messages included. */
export const MAX_BODIES = 8;

/**
 * Turns a message into the distinct tokens the classifier counts: header tokens prefixed by
 * their field name, body words and word pairs, URL hosts and paths, attachment types and a few
 * shape features (uppercase share, image and link counts). HTML markup itself is not tokenized,
 * because the training corpus has almost no legitimate HTML mail. Work is bounded by
 * {@link MAX_BODY_CHARS}, {@link MAX_BODIES} and {@link MAX_TOKENS_PER_MESSAGE}, whatever the
 * message size.
 */
export function tokenize(view: MessageView): Set<string> {
  const tokens = new Set<string>();
  const sink = new StringTokenSink((token) => {
    if (tokens.size < MAX_TOKENS_PER_MESSAGE) {
      tokens.add(token);
    }
  });
  emitTokens(view, sink);
  return tokens;
}

/**
 * Passes every token of {@link tokenize} to `sink`, duplicates included, in a fixed order and
 * without collecting them, so that a caller can hash tokens as they come. The caller applies
 * {@link MAX_TOKENS_PER_MESSAGE}.
 */
export function emitTokens(view: MessageView, sink: TokenSink): void {
  emitHeaderTokens(view.headers, sink.emit);
  emitPartTokens(view, sink.emit);

  const bodies = view.bodies.slice(0, MAX_BODIES);
  if (bodies.length === 0) {
    sink.emit('body:none');
  }
  for (const body of bodies) {
    const text = stripListFooter(body.text.slice(0, MAX_BODY_CHARS));
    if (body.type === 'html') {
      const digest = analyzeHtmlBody(body, text)?.digest ?? digestHtml(text);
      emitHtmlTokens(digest, sink);
    } else {
      emitTextTokens(text, sink);
    }
  }
}

/**
 * Emits the media types and filename extensions of attachments. Text parts are left out: in the
 * 2002 training corpus legitimate mail was plain text, so `text/html` would teach that HTML
 * means spam, which is false for mail today.
 */
function emitPartTokens(view: MessageView, emit: EmitToken): void {
  const parts = view.parts.slice(0, 50);
  emit(`part:count:${Math.min(view.parts.length, 8)}`);
  for (const part of parts) {
    if (!part.contentType.startsWith('text/')) {
      emit('part:', part.contentType.slice(0, 60));
    }
    const extension = part.filename ? /\.([a-z0-9]{1,8})$/i.exec(part.filename) : null;
    if (extension) {
      emit('part:extension:', extension[1].toLowerCase());
    }
  }
}

function emitHtmlTokens(digest: HtmlDigest, sink: TokenSink): void {
  const { emit } = sink;
  emit(`images:count:${bucket(digest.imageCount)}`);
  emit(`links:count:${bucket(digest.anchorCount)}`);
  if (digest.commentLetters > 50) {
    emit('text:inside-html-comments');
  }
  for (const link of digest.links) {
    emitUrlTokens(link, emit);
  }
  emitTextTokens(digest.text, sink);
}

function bucket(count: number): string {
  if (count <= 3) {
    return String(count);
  }
  return count <= 10 ? '4-10' : 'many';
}
