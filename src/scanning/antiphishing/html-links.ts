import { Parser } from 'htmlparser2';

import type { HtmlEventHandler } from '../html-body-analysis.js';
import type { Deadline } from '../types.js';
import type { UrlSource } from './extracted-url.js';

/** Maximum anchor text kept, in UTF-16 code units. A domain shown as link text is far shorter. */
export const MAX_ANCHOR_TEXT_CHARS = 256;

/**
 * HTML is fed to the parser in slices of this many UTF-16 code units, so the deadline is checked
 * and an early stop takes effect between slices.
 */
const HTML_SLICE_CHARS = 64 * 1024;

/** Elements whose `src` attribute loads a resource. */
const SRC_ELEMENTS = new Set(['img', 'iframe', 'frame', 'script', 'embed']);

/** `0; url=https://example.com/`, with optional quotes, as in the HTML refresh pragma. */
const META_REFRESH = /^\s*[\d.]*\s*[;,]?\s*(?:url\s*=\s*)?(.*)$/is;

/** An attribute value that names a URL, with the `base` href in force where it was written. */
export interface HtmlLink {
  value: string;
  source: UrlSource;
  base: string | undefined;
  anchorText?: string;
}

/** A form that contains an `input type=password`. */
export interface PasswordForm {
  /** The `action` attribute, or undefined when the form has none or an empty one. */
  action: string | undefined;
  base: string | undefined;
}

/** Receives what the scan finds. `onLink` returns false to stop the scan. */
export interface HtmlScanHandler {
  onLink(link: HtmlLink): boolean;
  onPasswordForm(form: PasswordForm): void;
}

/** Reason an HTML scan ended. */
export type HtmlScanEnd = 'complete' | 'stopped' | 'timed-out';

interface OpenAnchor {
  href: string;
  base: string | undefined;
  text: string;
}

interface OpenForm {
  action: string | undefined;
  base: string | undefined;
  hasPassword: boolean;
}

/**
 * Maximum depth of one parser's stack of open elements. htmlparser2 12.0.0 adds each start tag
 * with `Array.prototype.unshift`, whose cost grows with the depth, so 8 MB of nested `<div>` ran
 * for over ten minutes in a test. Past this depth the scan continues with a fresh parser after
 * the current tag. The fresh parser loses only implied end tags and raw-text state, which the
 * scan does not use, because the open anchor, form and base are kept in the scanner.
 */
const MAX_OPEN_ELEMENTS = 256;

const PARSER_OPTIONS = { decodeEntities: true } as const;

/**
 * Scans HTML for link targets and password forms with htmlparser2's streaming parser, which
 * keeps no document tree, so memory stays proportional to the slice size and the open-element
 * stack. Malformed markup (unclosed tags, NUL bytes, broken entities) is tolerated without
 * throwing. The caller bounds the size of `html`. `recorded`, when given, must be recorded from
 * `html` by an {@link HtmlLinkRecorder}, and for HTML of one slice or less its calls replace the
 * parse.
 */
export function scanHtml(
  html: string,
  handler: HtmlScanHandler,
  deadline: Deadline,
  recorded?: RecordedHtmlScan,
): HtmlScanEnd {
  // For HTML of one slice or less, the parse below checks the deadline once and then writes it
  // all in one call, so the replay checks the deadline once too.
  if (recorded !== undefined && html.length <= HTML_SLICE_CHARS) {
    if (html.length > 0 && deadline.expired()) {
      return 'timed-out';
    }
    return recorded.replay(handler);
  }
  const scanner = new HtmlLinkScanner(handler);
  let start = 0;
  for (;;) {
    const parser = new Parser(scanner, PARSER_OPTIONS);
    scanner.attach(parser);
    for (let offset = start; offset < html.length; offset += HTML_SLICE_CHARS) {
      if (scanner.stopped) {
        return 'stopped';
      }
      if (deadline.expired()) {
        return 'timed-out';
      }
      parser.write(html.slice(offset, offset + HTML_SLICE_CHARS));
      if (scanner.restartOffset !== undefined) {
        break;
      }
    }
    if (scanner.restartOffset === undefined) {
      parser.end();
      return scanner.stopped ? 'stopped' : 'complete';
    }
    start += Math.max(1, scanner.restartOffset);
  }
}

/**
 * The handler calls of one scan that no handler stopped. The scanner's calls do not depend on
 * what `onLink` returns until it returns false, and after that it makes none, so replaying them
 * up to the first false gives the calls of a scan with that handler.
 */
export class RecordedHtmlScan {
  /** Links and password forms in the order they were reported. */
  private readonly calls: readonly (HtmlLink | PasswordForm)[];
  /** Per call, true for a link. */
  private readonly isLink: readonly boolean[];

  constructor(calls: readonly (HtmlLink | PasswordForm)[], isLink: readonly boolean[]) {
    this.calls = calls;
    this.isLink = isLink;
  }

  /** Passes the recorded calls to `handler`, stopping when its `onLink` returns false. */
  replay(handler: HtmlScanHandler): HtmlScanEnd {
    for (let index = 0; index < this.calls.length; index += 1) {
      const call = this.calls[index];
      if (!this.isLink[index]) {
        handler.onPasswordForm(call as PasswordForm);
      } else if (!handler.onLink(call as HtmlLink)) {
        return 'stopped';
      }
    }
    return 'complete';
  }
}

/**
 * htmlparser2 callbacks that record what {@link scanHtml} would report, for a parse shared with
 * other handlers. The parse must use the options of {@link scanHtml} (htmlparser2's defaults
 * with `decodeEntities`) and must see the whole HTML in a single `write`.
 */
export class HtmlLinkRecorder implements HtmlEventHandler {
  private readonly calls: (HtmlLink | PasswordForm)[] = [];
  private readonly isLink: boolean[] = [];
  private readonly scanner: HtmlLinkScanner;
  private depth = 0;
  private tooDeep = false;

  constructor() {
    const { calls, isLink } = this;
    this.scanner = new HtmlLinkScanner({
      onLink(link) {
        calls.push(link);
        isLink.push(true);
        return true;
      },
      onPasswordForm(form) {
        calls.push(form);
        isLink.push(false);
      },
    });
  }

  onopentag(name: string, attributes: Record<string, string>): void {
    this.depth += 1;
    if (this.depth > MAX_OPEN_ELEMENTS) {
      this.tooDeep = true;
    }
    this.scanner.onopentag(name, attributes);
  }

  onclosetag(name: string): void {
    this.depth -= 1;
    this.scanner.onclosetag(name);
  }

  ontext(text: string): void {
    this.scanner.ontext(text);
  }

  /**
   * Returns the recorded calls after the parser's end, or undefined when the HTML nests more
   * than {@link MAX_OPEN_ELEMENTS} elements, where {@link scanHtml} restarts its parser and may
   * report other calls.
   */
  finish(): RecordedHtmlScan | undefined {
    this.scanner.onend();
    return this.tooDeep ? undefined : new RecordedHtmlScan(this.calls, this.isLink);
  }
}

/** Parser callbacks. After `stopped` is set they ignore the rest of the current slice. */
class HtmlLinkScanner implements HtmlEventHandler {
  stopped = false;
  /** Offset, from the current parser's start, where the next parser starts after a depth pause. */
  restartOffset: number | undefined;
  private readonly handler: HtmlScanHandler;
  private parser: Parser | undefined;
  private depth = 0;
  private base: string | undefined;
  private anchor: OpenAnchor | undefined;
  private form: OpenForm | undefined;

  constructor(handler: HtmlScanHandler) {
    this.handler = handler;
  }

  attach(parser: Parser): void {
    this.parser = parser;
    this.depth = 0;
    this.restartOffset = undefined;
  }

  onopentag(name: string, attributes: Record<string, string>): void {
    this.depth += 1;
    if (this.depth > MAX_OPEN_ELEMENTS && this.parser !== undefined) {
      this.restartOffset = this.parser.endIndex + 1;
      this.parser.pause();
    }
    if (this.stopped) {
      return;
    }
    if (name === 'a') {
      this.closeAnchor();
      const href = attributes.href;
      this.anchor = href === undefined ? undefined : { href, base: this.base, text: '' };
    } else if (name === 'area') {
      this.emit(attributes.href, 'href');
    } else if (SRC_ELEMENTS.has(name)) {
      this.emit(attributes.src, 'src');
    } else if (name === 'form') {
      this.openForm(attributes.action);
    } else if (name === 'input') {
      if (this.form !== undefined && attributes.type?.trim().toLowerCase() === 'password') {
        this.form.hasPassword = true;
      }
    } else if (name === 'meta') {
      this.readMetaRefresh(attributes);
    } else if (name === 'base') {
      this.readBase(attributes.href);
    }
  }

  ontext(text: string): void {
    const anchor = this.anchor;
    if (anchor !== undefined && anchor.text.length < MAX_ANCHOR_TEXT_CHARS) {
      anchor.text += text.slice(0, MAX_ANCHOR_TEXT_CHARS - anchor.text.length);
    }
  }

  onclosetag(name: string): void {
    this.depth -= 1;
    if (name === 'a') {
      this.closeAnchor();
    } else if (name === 'form') {
      this.closeForm();
    }
  }

  onend(): void {
    this.closeAnchor();
    this.closeForm();
  }

  private emit(value: string | undefined, source: UrlSource): void {
    if (value !== undefined) {
      this.emitLink({ value, source, base: this.base });
    }
  }

  private emitLink(link: HtmlLink): void {
    if (this.stopped || link.value.trim() === '') {
      return;
    }
    if (!this.handler.onLink(link)) {
      this.stopped = true;
    }
  }

  private closeAnchor(): void {
    const anchor = this.anchor;
    this.anchor = undefined;
    if (anchor === undefined || this.stopped) {
      return;
    }
    const anchorText = anchor.text.replace(/\s+/g, ' ').trim();
    this.emitLink({ value: anchor.href, source: 'href', base: anchor.base, anchorText });
  }

  /** Browsers ignore a `form` start tag inside an open form, and so does this scan. */
  private openForm(action: string | undefined): void {
    if (this.form !== undefined) {
      return;
    }
    const trimmed = action?.trim();
    this.form = {
      action: trimmed === '' ? undefined : trimmed,
      base: this.base,
      hasPassword: false,
    };
    this.emit(trimmed, 'form-action');
  }

  private closeForm(): void {
    const form = this.form;
    this.form = undefined;
    if (form?.hasPassword === true && !this.stopped) {
      this.handler.onPasswordForm({ action: form.action, base: form.base });
    }
  }

  private readMetaRefresh(attributes: Record<string, string>): void {
    if (attributes['http-equiv']?.trim().toLowerCase() !== 'refresh') {
      return;
    }
    const target = META_REFRESH.exec(attributes.content ?? '')?.[1]?.trim();
    if (target !== undefined) {
      this.emit(target.replace(/^['"]|['"]$/g, ''), 'meta-refresh');
    }
  }

  /**
   * Only the first `base` with an href counts, as in browsers.
   * NOTE: browsers also apply it to relative links written before it. This streaming scan skips
   * those links.
   */
  private readBase(href: string | undefined): void {
    if (this.base !== undefined || href === undefined || href.trim() === '') {
      return;
    }
    this.emit(href, 'base');
    this.base = href.trim();
  }
}
