/** One `begin` … `end` block found in a text body. */
export interface UuencodedBlock {
  filename: string;
  /** Decoded bytes, or undefined when a line could not be decoded. */
  content?: Uint8Array;
}

/** The blocks of one text body, and whether blocks past MAX_UUENCODED_BLOCKS were left unread. */
export interface UuencodedBlocks {
  blocks: UuencodedBlock[];
  truncated: boolean;
}

const BEGIN_LINE = /^begin(?:-base64)? +[0-7]{3,4} +(.+?)[ \t\r]*$/gm;
/**
 * Most blocks read from one body. A `begin` line past them sets `truncated`, which the extractor
 * reports as the `limit.uuencoded-blocks` unscannable finding, because those blocks are never scanned.
 */
export const MAX_UUENCODED_BLOCKS = 64;

/**
 * Finds uuencoded attachments in a text body (`begin 644 name`, encoded lines, a backtick or
 * space line, `end`), as older Outlook and Usenet clients still send them. MIME parsers treat
 * these as plain text, so without this step antivirus would never see the file.
 */
export function findUuencodedBlocks(text: string): UuencodedBlocks {
  const blocks: UuencodedBlock[] = [];
  BEGIN_LINE.lastIndex = 0;
  let match: RegExpExecArray | null;
  while ((match = BEGIN_LINE.exec(text)) !== null) {
    if (blocks.length >= MAX_UUENCODED_BLOCKS) {
      return { blocks, truncated: true };
    }
    const bodyStart = match.index + match[0].length + 1;
    const endMatch = /^end\s*$/m.exec(text.slice(bodyStart));
    const bodyEnd = endMatch ? bodyStart + endMatch.index : text.length;
    const isBase64 = match[0].startsWith('begin-base64');
    const body = text.slice(bodyStart, bodyEnd);
    blocks.push({
      filename: match[1] ?? '',
      content: isBase64 ? decodeBase64Block(body) : decodeUuencodedLines(body),
    });
    BEGIN_LINE.lastIndex = bodyEnd;
  }
  return { blocks, truncated: false };
}

/**
 * Decodes uuencoded lines. Each line starts with a length character (`M` is 45 bytes), followed by
 * groups of four characters carrying three bytes, each character being 0x20 + a 6-bit value (the
 * backtick stands for 0). Returns undefined if a line contains characters outside that alphabet.
 */
export function decodeUuencodedLines(body: string): Uint8Array | undefined {
  const lines = body.split(/\r?\n/);
  const output: number[] = [];
  for (const line of lines) {
    if (line.length === 0) {
      continue;
    }
    const length = (line.charCodeAt(0) - 0x20) & 0x3f;
    if (length === 0) {
      break;
    }
    const needed = Math.ceil(length / 3) * 4;
    if (line.length - 1 < needed) {
      return undefined;
    }
    const decodedLine: number[] = [];
    for (let i = 1; i + 3 <= needed; i += 4) {
      const values: number[] = [];
      for (let k = 0; k < 4; k++) {
        const code = line.charCodeAt(i + k);
        if (code < 0x20 || code > 0x60) {
          return undefined;
        }
        values.push((code - 0x20) & 0x3f);
      }
      const [a = 0, b = 0, c = 0, d = 0] = values;
      decodedLine.push((a << 2) | (b >> 4), ((b & 0x0f) << 4) | (c >> 2), ((c & 0x03) << 6) | d);
    }
    output.push(...decodedLine.slice(0, length));
  }
  return Uint8Array.from(output);
}

function decodeBase64Block(body: string): Uint8Array | undefined {
  const cleaned = body.replace(/^====\s*$/m, '').replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(cleaned)) {
    return undefined;
  }
  return new Uint8Array(Buffer.from(cleaned, 'base64'));
}
