import { Parser } from 'htmlparser2';

import type { HtmlEventHandler } from '../html-body-analysis.js';

/** Visible text, links and a few layout counts of one HTML body. */
export interface HtmlDigest {
  /** Visible text, with a space for every tag boundary so words do not run together. */
  text: string;
  /** Values of `href`, `src` and `action` attributes, in document order. */
  links: string[];
  imageCount: number;
  anchorCount: number;
  /** Letters of visible text hidden inside HTML comments, which spam uses to poison filters. */
  commentLetters: number;
  /**
   * Comments that sit between two letters of visible text (`via<!-- x -->gra`), which splits a
   * word for a filter but not for a reader.
   */
  commentsInsideWords: number;
}

/** Elements whose content is not visible text. */
const INVISIBLE_ELEMENTS = new Set(['style', 'script', 'head', 'title', 'noscript', 'xml']);

const LINK_ATTRIBUTES = new Set(['href', 'src', 'action', 'background']);

const MAX_LINKS = 200;

/**
 * Reads an HTML body into visible text, links and counts with htmlparser2's streaming parser,
 * which tolerates any malformed markup. The caller bounds the input length.
 */
export function digestHtml(html: string): HtmlDigest {
  const collector = new HtmlDigestCollector();
  const parser = new Parser(collector, {
    decodeEntities: true,
    lowerCaseTags: true,
    lowerCaseAttributeNames: true,
  });
  parser.write(html);
  parser.end();
  return collector.finish();
}

/**
 * htmlparser2 callbacks that build an {@link HtmlDigest}, for {@link digestHtml} or for a parse
 * shared with other handlers. Call {@link HtmlDigestCollector.finish} after the parser's end.
 */
export class HtmlDigestCollector implements HtmlEventHandler {
  private readonly digest: HtmlDigest = {
    text: '',
    links: [],
    imageCount: 0,
    anchorCount: 0,
    commentLetters: 0,
    commentsInsideWords: 0,
  };
  private readonly textChunks: string[] = [];
  private invisibleDepth = 0;
  /** The last visible text ended with a letter and only comments have followed it. */
  private afterLetter = false;
  private commentAfterLetter = false;

  onopentag(name: string, attributes: Record<string, string>): void {
    if (INVISIBLE_ELEMENTS.has(name)) {
      this.invisibleDepth += 1;
    }
    recordTag(this.digest, name, attributes);
    this.textChunks.push(' ');
    this.afterLetter = false;
  }

  onclosetag(name: string): void {
    if (INVISIBLE_ELEMENTS.has(name) && this.invisibleDepth > 0) {
      this.invisibleDepth -= 1;
    }
    this.textChunks.push(' ');
    this.afterLetter = false;
  }

  ontext(data: string): void {
    if (this.invisibleDepth !== 0 || data.length === 0) {
      return;
    }
    this.textChunks.push(data);
    if (this.commentAfterLetter && isAsciiLetter(data.charCodeAt(0))) {
      this.digest.commentsInsideWords += 1;
    }
    this.commentAfterLetter = false;
    this.afterLetter = isAsciiLetter(data.charCodeAt(data.length - 1));
  }

  oncomment(data: string): void {
    this.digest.commentLetters += countLetters(data);
    this.commentAfterLetter = this.afterLetter;
  }

  /** Returns the digest of everything the parser reported. */
  finish(): HtmlDigest {
    this.digest.text = this.textChunks.join('');
    return this.digest;
  }
}

function recordTag(digest: HtmlDigest, name: string, attributes: Record<string, string>): void {
  if (name === 'img') {
    digest.imageCount += 1;
  } else if (name === 'a') {
    digest.anchorCount += 1;
  }
  // A for-in loop visits the same keys in the same order as Object.entries, without its arrays.
  for (const attribute in attributes) {
    if (LINK_ATTRIBUTES.has(attribute) && digest.links.length < MAX_LINKS) {
      digest.links.push(attributes[attribute]);
    }
  }
}

function isAsciiLetter(code: number): boolean {
  const lower = code | 0x20;
  return lower >= 0x61 && lower <= 0x7a;
}

function countLetters(text: string): number {
  let letters = 0;
  for (let index = 0; index < text.length; index += 1) {
    const code = text.charCodeAt(index) | 0x20;
    if (code >= 0x61 && code <= 0x7a) {
      letters += 1;
    }
  }
  return letters;
}
