import { analyzeHtmlBody } from '../html-body-analysis.js';
import type { MessageView } from '../types.js';
import { emitHeaderTokens, lowerCaseReceived } from './header-tokens.js';
import { digestHtml, type HtmlDigest } from './html-text.js';
import { stripListFooter } from './list-footer.js';
import { emitStructureTokens } from './structure-tokens.js';
import { emitTextTokens, emitUrlTokens } from './text-tokens.js';
import { StringTokenSink, type EmitToken, type TokenSink } from './token-sink.js';

/**
 * Version of the token scheme. A model records the version it was trained with, and loading a
 * model of another version fails, because its token counts would no longer match.
 */
export const TOKENIZER_VERSION = 3;

/** Most distinct tokens taken from one message; a message with more is cut off at this count. */
export const MAX_TOKENS_PER_MESSAGE = 3000;
/** Most characters read from one text or HTML body. */
export const MAX_BODY_CHARS = 60_000;
/** Most bodies read from one message, nested messages included. */
export const MAX_BODIES = 8;

/**
 * Turns a message into the distinct tokens the classifier counts: header tokens prefixed by
 * their field name, body words and word pairs, URL hosts and paths, attachment types and a few
 * shape features (uppercase share, image and link counts), plus the header structure tokens
 * of structure-tokens.ts. A plain body that starts with HTML markup is read as HTML. HTML markup
 * itself is not tokenized, because the training corpus has almost no legitimate HTML mail. Work
 * is bounded by {@link MAX_BODY_CHARS}, {@link MAX_BODIES} and {@link MAX_TOKENS_PER_MESSAGE},
 * whatever the message size.
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
  const receivedLower = lowerCaseReceived(view.headers);
  emitHeaderTokens(view.headers, sink.emit, receivedLower);
  emitStructureTokens(view.headers, sink.emit, receivedLower);
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
    } else if (looksLikeHtml(text)) {
      sink.emit('body:html-in-plain');
      emitHtmlTokens(digestHtml(text), sink);
    } else {
      emitTextTokens(text, sink);
    }
  }
}

/** Characters at the start of a plain body searched for HTML markup. */
const HTML_SNIFF_CHARS = 1024;
/** Start tags that mark a body as HTML; `<b>` and `<p>` need the word boundary after them. */
const HTML_MARKUP = /<(?:html|body|head|table|font|p|br|div|a\s|img\s|center|b)\b/i;

/**
 * Tests whether a body labelled text/plain (or without a Content-Type) is really HTML: bulk
 * mailers that omit the header send markup that a mail client would still render.
 */
function looksLikeHtml(text: string): boolean {
  const head = text.length > HTML_SNIFF_CHARS ? text.slice(0, HTML_SNIFF_CHARS) : text;
  return head.trimStart().startsWith('<') && HTML_MARKUP.test(head);
}

/**
 * Emits the media types and filename extensions of attachments. Text parts are left out: in the
 * 2002 training corpus legitimate mail was plain text, so `text/html` would teach that HTML
 * means spam, which is false for mail today.
 */
function emitPartTokens(view: MessageView, emit: EmitToken): void {
  // Text outside a multipart's parts is scanned by antivirus but is no part a sender attached.
  const attached = view.parts.filter((part) => part.origin !== 'outside-parts');
  const parts = attached.slice(0, 50);
  emit(`part:count:${Math.min(attached.length, 8)}`);
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
  if (digest.commentsInsideWords > 0) {
    emit('html:comment-inside-word');
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
