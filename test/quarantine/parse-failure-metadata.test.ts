import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { createBlobQuarantineStore } from '../../src/quarantine/blob-quarantine-store.js';
import { createInProcessScanner } from '../../src/scanning/message-scanner.js';
import { silentLogger } from '../../src/shared/logger.js';
import {
  BASE_HEADERS,
  crlf,
  nestedMultipartBomb,
  partCountBomb,
  toBytes,
} from '../fixtures/hostile-mail.js';
import { createTestPipeline } from '../helpers/pipeline.js';
import { testQuarantineSettings } from './azurite-test-support.js';

/** Limits small enough for short fixtures to cross them. */
const SMALL_LIMITS = {
  MAILSWEEP_MAX_MIME_PARTS: '20',
  MAILSWEEP_MAX_MIME_DEPTH: '5',
  MAILSWEEP_MAX_HEADER_BYTES: '4096',
};

/** Builds a message with a small top-level header block and an 8 KiB header in its second part. */
function largePartHeader(): string {
  return crlf([
    ...BASE_HEADERS,
    'Cc: Second <second@contoso.com>',
    'Subject: large part header',
    'Content-Type: multipart/mixed; boundary="h"',
    '',
    '--h',
    'Content-Type: text/plain',
    '',
    'hello',
    '--h',
    `X-Padding: ${'p'.repeat(8192)}`,
    '',
    'tail',
    '--h--',
    '',
  ]);
}

const CASES = [
  { signature: 'limit.mime-parts', subject: 'parts', raw: partCountBomb(50) },
  { signature: 'limit.mime-depth', subject: 'depth', raw: nestedMultipartBomb(10) },
  { signature: 'limit.header-bytes', subject: 'large part header', raw: largePartHeader() },
];

describe('quarantine metadata of a message that crossed a parse limit', () => {
  for (const testCase of CASES) {
    it(`keeps sender, recipients and subject after ${testCase.signature}`, async () => {
      const scanner = createInProcessScanner(await createTestPipeline(SMALL_LIMITS));
      const raw = toBytes(
        testCase.raw.replace('MIME-Version: 1.0', `MIME-Version: 1.0\r\nSubject: ${testCase.subject}`),
      );
      const result = await scanner.scan(raw);
      const signatures = result.verdict.findings.map((finding) => finding.signature);
      assert.ok(signatures.includes(testCase.signature), signatures.join(','));
      assert.equal(result.verdict.action, 'quarantine');

      // Stored as `mailsweep scan` stores a quarantined message.
      const store = createBlobQuarantineStore({
        settings: testQuarantineSettings('limits'),
        logger: silentLogger,
      });
      const { summary } = result;
      const { id } = await store.put(raw, {
        source: `${testCase.signature}.eml`,
        internetMessageId: summary.internetMessageId,
        sender: summary.sender,
        recipients: summary.recipients,
        subject: summary.subject,
        receivedAt: summary.sentAt,
        verdict: result.verdict,
      });
      const metadata = await store.getMetadata(id);
      assert.equal(metadata.sender, 'sender@fabrikam.example');
      assert.ok(metadata.recipients.includes('recipient@contoso.com'));
      assert.equal(metadata.subject, testCase.subject);
      assert.equal(metadata.internetMessageId, '<hostile@fabrikam.example>');
      assert.equal(metadata.receivedAt, '2026-12-03T09:15:00.000Z');
    });
  }

  it('reads Cc into the recipients', async () => {
    const scanner = createInProcessScanner(await createTestPipeline(SMALL_LIMITS));
    const result = await scanner.scan(toBytes(largePartHeader()));
    assert.deepEqual(result.summary.recipients, ['recipient@contoso.com', 'second@contoso.com']);
  });
});
