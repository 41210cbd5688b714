import type { ScanLimits } from '../config/settings.js';
import type { AttachmentTarget } from '../mailbox/mailbox-client.js';
import { decodeEncodedWords } from '../scanning/header-decoding.js';
import { parseMimeTree, type MimeNode } from '../scanning/mime-tree.js';

/** Types read as the message body when a part has no file name and is not an attachment. */
const BODY_TYPES = new Set(['text/plain', 'text/html']);

interface Leaf {
  path: string;
  name: string;
  contentType: string;
}

/**
 * Describes, for each attachment path a rule asked to remove, the attachment the mail store lists
 * for it. A part inside a nested message or an archive belongs to the top-level attachment that
 * contains it. A path in the body (such as a uuencoded block) has no attachment of its own and
 * maps to nothing.
 * @returns the targets by path; a path missing from the map cannot be removed in the store.
 */
export async function findAttachmentTargets(
  raw: Uint8Array,
  mimePaths: readonly string[],
  limits: Pick<ScanLimits, 'maxMimeDepth' | 'maxHeaderBytes' | 'maxMimeParts'>,
): Promise<Map<string, AttachmentTarget>> {
  const targets = new Map<string, AttachmentTarget>();
  const parsed = await parseMimeTree(raw, {
    maxNestingDepth: limits.maxMimeDepth,
    maxHeadersSize: limits.maxHeaderBytes,
    maxPartCount: limits.maxMimeParts,
  });
  if (!parsed.ok) {
    return targets;
  }
  const leaves: Leaf[] = [];
  collectAttachments(parsed.root, '', leaves);

  for (const mimePath of mimePaths) {
    const topPath = toTopLevelPath(mimePath);
    const index = leaves.findIndex((leaf) => leaf.path === topPath);
    const leaf = leaves[index];
    if (leaf === undefined) {
      continue;
    }
    const sameName = leaves.filter(
      (other) => other.name.toLowerCase() === leaf.name.toLowerCase(),
    );
    targets.set(mimePath, {
      mimePath: topPath,
      name: leaf.name,
      contentType: leaf.contentType,
      index,
      count: leaves.length,
      nameIndex: sameName.indexOf(leaf),
      nameCount: sameName.length,
    });
  }
  return targets;
}

/**
 * Returns the path of the top-level part: extraction joins a nested message's parts with `/`,
 * archive members with `!` and decoded blocks with `#`.
 */
export function toTopLevelPath(mimePath: string): string {
  return mimePath.split(/[/!#]/)[0] ?? mimePath;
}

/** Collects the leaves that a store lists as attachments, numbered as extraction numbers parts. */
function collectAttachments(node: MimeNode, localPath: string, leaves: Leaf[]): void {
  if (node.contentType.multipart) {
    for (const [index, childNode] of node.childNodes.entries()) {
      const childPath = localPath ? `${localPath}.${index + 1}` : `${index + 1}`;
      collectAttachments(childNode, childPath, leaves);
    }
    return;
  }
  const contentType = node.contentType.parsed.value.toLowerCase() || 'text/plain';
  const declared =
    node.contentDisposition.parsed.params.filename || node.contentType.parsed.params.name || '';
  const disposition = node.contentDisposition.parsed.value.toLowerCase();
  if (declared === '' && disposition !== 'attachment' && BODY_TYPES.has(contentType)) {
    return;
  }
  leaves.push({
    path: localPath || '1',
    name: declared ? decodeEncodedWords(declared) : '',
    contentType,
  });
}
