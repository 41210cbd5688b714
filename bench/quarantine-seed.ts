// Seeding of a quarantine for benchmarks: index rows for many items through the real index
// writer (QuarantineIndex.addBatch, batched table transactions), and full items (blobs and
// rows) only for the few a benchmark opens. Other benchmarks import these functions.
import { randomBytes } from 'node:crypto';

import type { QuarantineIndex } from '../src/quarantine/quarantine-index.js';
import type { QuarantineMetadata, QuarantineStore } from '../src/quarantine/quarantine-types.js';
import type { Category } from '../src/scanning/types.js';

/** Shape of a seeded quarantine. */
export interface SeedOptions {
  /** Items indexed. */
  items: number;
  /** Distinct mailboxes the items are spread over, round robin; default 1,000. */
  mailboxes?: number;
  /** Items whose rows are written per addBatch call, bounding memory; default 25,000. */
  chunkSize?: number;
  /** Days the items are spread over, ending now; default 30, the default malware retention. */
  spanDays?: number;
  /** Called after each chunk with the items written so far. */
  onProgress?: (written: number) => void;
}

/** Categories in the proportions the seed uses: half spam, then phishing, malware, policy. */
const CATEGORIES: Category[] = ['spam', 'spam', 'spam', 'phishing', 'malware', 'policy'];

/** Address of the seeded mailbox with this number. */
export function seededMailbox(index: number): string {
  return `user${index}@contoso.com`;
}

/**
 * Indexes `items` synthetic items, evenly spread over `spanDays` and ending now, so that the
 * newest are listed first. One subject in 50 contains "Invoice", for text-filter cases. No blobs are
 * written: a listing reads only the index.
 * @returns Seconds the seeding took.
 */
export async function seedQuarantineIndex(index: QuarantineIndex, options: SeedOptions): Promise<number> {
  const started = Date.now();
  const mailboxes = options.mailboxes ?? 1000;
  const chunkSize = options.chunkSize ?? 25_000;
  const spacingMs = ((options.spanDays ?? 30) * 86_400_000) / options.items;
  const first = Date.now() - options.items * spacingMs;
  for (let offset = 0; offset < options.items; offset += chunkSize) {
    const chunk: QuarantineMetadata[] = [];
    for (let item = offset; item < Math.min(offset + chunkSize, options.items); item += 1) {
      chunk.push(syntheticItem(item, first + item * spacingMs, mailboxes));
    }
    await index.addBatch(chunk);
    options.onProgress?.(Math.min(offset + chunkSize, options.items));
  }
  return (Date.now() - started) / 1000;
}

/**
 * Stores `count` complete items (message and metadata blobs, index rows through the store) for
 * a benchmark that opens items, in the mailbox `mailbox`.
 * @returns The ids of the stored items.
 */
export async function seedOpenedItems(store: QuarantineStore, mailbox: string, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let item = 0; item < count; item += 1) {
    const raw = Buffer.from(
      `From: sender@fabrikam.com\r\nTo: ${mailbox}\r\nSubject: Opened ${item}\r\n` +
        `Message-ID: <${randomBytes(8).toString('hex')}@fabrikam.com>\r\n\r\nBody ${item}\r\n`,
    );
    const { id } = await store.put(raw, {
      mailbox,
      recipients: [mailbox],
      sender: 'sender@fabrikam.com',
      subject: `Opened ${item}`,
      internetMessageId: `<opened-${item}@fabrikam.com>`,
      receivedAt: new Date().toISOString(),
      verdict: { category: 'spam', action: 'quarantine', findings: [], durationMs: 1 },
    });
    ids.push(id);
  }
  return ids;
}

function syntheticItem(item: number, time: number, mailboxes: number): QuarantineMetadata {
  const mailbox = seededMailbox(item % mailboxes);
  const quarantinedAt = new Date(Math.round(time)).toISOString();
  const category = CATEGORIES[item % CATEGORIES.length] ?? 'spam';
  return {
    id: randomBytes(16).toString('hex'),
    mailbox,
    recipients: [mailbox],
    sender: `sender${item % 97}@fabrikam.com`,
    subject: item % 50 === 0 ? `Invoice ${item}` : `Message ${item}`,
    size: 2048,
    sha256: randomBytes(32).toString('hex'),
    verdict: { category, action: 'quarantine', findings: [], durationMs: 1 },
    quarantinedAt,
    expiresAt: new Date(Date.parse(quarantinedAt) + 30 * 86_400_000).toISOString(),
  };
}
