import { Parser } from 'htmlparser2';

import { HtmlLinkRecorder, type RecordedHtmlScan } from './antiphishing/html-links.js';
import { HtmlDigestCollector, type HtmlDigest } from './antispam/html-text.js';
import type { TextBody } from './types.js';

/**
 * Longest HTML body analysed once for both engines, in UTF-16 code units. It equals the
 * antispam engine's `MAX_BODY_CHARS`, because the antispam engine reads no more of a body, so a
 * longer body is never shared.
 */
export const MAX_SHARED_HTML_CHARS = 60_000;

/**
 * Deepest stack of open elements in a shared parse. htmlparser2 12.0.0 adds each start tag with
 * `Array.prototype.unshift`, so deep nesting costs time quadratic in the depth, and the
 * antiphishing scan restarts its parser past this depth. The shared parse stops there.
 */
export const MAX_SHARED_OPEN_ELEMENTS = 256;

/**
 * Options of both engines' parsers. htmlparser2 12 lower-cases tag and attribute names by
 * default in HTML mode, so the antiphishing scan, which sets only `decodeEntities`, parses alike.
 */
const PARSER_OPTIONS = {
  decodeEntities: true,
  lowerCaseTags: true,
  lowerCaseAttributeNames: true,
} as const;

/** The htmlparser2 callbacks that the engines' HTML handlers implement. */
export interface HtmlEventHandler {
  /** `name` and attribute names are lower case. */
  onopentag(name: string, attributes: Record<string, string>): void;
  /** Also called for end tags that the parser implied. */
  onclosetag(name: string): void;
  /** Text with entities decoded, possibly split into several calls. */
  ontext(text: string): void;
  oncomment?(text: string): void;
}

/** The results that the antispam and antiphishing engines read from one HTML body. */
export interface HtmlBodyAnalysis {
  /** The result of the antispam engine's `digestHtml`. */
  digest: HtmlDigest;
  /** The calls of the antiphishing engine's `scanHtml`. */
  links: RecordedHtmlScan;
}

/**
 * Parses `html` once for both engines' handlers. Returns undefined when the parse reaches more
 * than {@link MAX_SHARED_OPEN_ELEMENTS} open elements, where it stops.
 */
export function analyzeHtml(html: string): HtmlBodyAnalysis | undefined {
  const digest = new HtmlDigestCollector();
  const links = new HtmlLinkRecorder();
  let depth = 0;
  let tooDeep = false;
  const parser: Parser = new Parser(
    {
      onopentag(name, attributes) {
        depth += 1;
        if (depth > MAX_SHARED_OPEN_ELEMENTS && !tooDeep) {
          tooDeep = true;
          parser.pause();
        }
        digest.onopentag(name, attributes);
        links.onopentag(name, attributes);
      },
      onclosetag(name) {
        depth -= 1;
        digest.onclosetag(name);
        links.onclosetag(name);
      },
      ontext(text) {
        digest.ontext(text);
        links.ontext(text);
      },
      oncomment(text) {
        digest.oncomment(text);
      },
    },
    PARSER_OPTIONS,
  );
  parser.write(html);
  if (tooDeep) {
    return undefined;
  }
  parser.end();
  const recorded = links.finish();
  return recorded === undefined ? undefined : { digest: digest.finish(), links: recorded };
}

/** Per body, the text that was requested first and its analysis, if it is shared. */
const analysisByBody = new WeakMap<
  TextBody,
  { text: string; analysis: HtmlBodyAnalysis | undefined }
>();

/**
 * Returns the analysis of `html` when it is the whole text of the HTML `body`. The first request
 * parses, and the result is kept while the body object lives, so that the antispam and
 * antiphishing engines parse each body once. Returns undefined when `html` is not the body's text
 * or not the first string requested for the body, and for a body longer than
 * {@link MAX_SHARED_HTML_CHARS} or nested deeper than {@link MAX_SHARED_OPEN_ELEMENTS}. The
 * caller then parses on its own.
 */
export function analyzeHtmlBody(body: TextBody, html: string): HtmlBodyAnalysis | undefined {
  const cached = analysisByBody.get(body);
  if (cached !== undefined) {
    return cached.text === html ? cached.analysis : undefined;
  }
  const shared =
    body.type === 'html' && html.length <= MAX_SHARED_HTML_CHARS && html === body.text;
  const analysis = shared ? analyzeHtml(html) : undefined;
  analysisByBody.set(body, { text: html, analysis });
  return analysis;
}
