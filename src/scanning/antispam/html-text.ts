import { Parser } from 'htmlparser2';

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
  const digest: HtmlDigest = {
    text: '',
    links: [],
    imageCount: 0,
    anchorCount: 0,
    commentLetters: 0,
  };
  const textChunks: string[] = [];
  let invisibleDepth = 0;

  const parser = new Parser(
    {
      onopentag(name, attributes) {
        if (INVISIBLE_ELEMENTS.has(name)) {
          invisibleDepth += 1;
        }
        recordTag(digest, name, attributes);
        textChunks.push(' ');
      },
      onclosetag(name) {
        if (INVISIBLE_ELEMENTS.has(name) && invisibleDepth > 0) {
          invisibleDepth -= 1;
        }
        textChunks.push(' ');
      },
      ontext(data) {
        if (invisibleDepth === 0) {
          textChunks.push(data);
        }
      },
      oncomment(data) {
        digest.commentLetters += countLetters(data);
      },
    },
    { decodeEntities: true, lowerCaseTags: true, lowerCaseAttributeNames: true },
  );
  parser.write(html);
  parser.end();

  digest.text = textChunks.join('');
  return digest;
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
