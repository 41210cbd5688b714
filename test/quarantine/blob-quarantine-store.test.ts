import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { BlobServiceClient } from '@azure/storage-blob';

import { createBlobQuarantineStore } from '../../src/quarantine/blob-quarantine-store.js';
import type { NewQuarantineItem } from '../../src/quarantine/quarantine-types.js';
import type { Category, Verdict } from '../../src/scanning/types.js';
import { ScannerError } from '../../src/shared/errors.js';
import { silentLogger } from '../../src/shared/logger.js';
import {
  createRecordingLogger,
  requireAzuriteConnectionString,
  testQuarantineSettings,
} from './azurite-test-support.js';

const settings = testQuarantineSettings('store');
const store = createBlobQuarantineStore({ settings, logger: silentLogger });

function verdictOf(category: Category): Verdict {
  return {
    category,
    action: category === 'clean' ? 'none' : 'quarantine',
    findings:
      category === 'clean'
        ? []
        : [
            {
              stage: 'antivirus',
              engine: 'embedded-av',
              category,
              signature: 'Test-Signature',
              reason: 'test finding',
              mimePath: '2',
            },
          ],
    durationMs: 12,
  };
}

function newItem(overrides: Partial<NewQuarantineItem> = {}): NewQuarantineItem {
  return {
    mailbox: `user-${randomBytes(4).toString('hex')}@contoso.com`,
    folder: 'Inbox',
    messageId: 'AAMkAGI2',
    internetMessageId: '<test@contoso.com>',
    sender: 'sender@fabrikam.com',
    recipients: ['user@contoso.com'],
    subject: 'Quarterly report',
    receivedAt: '2025-01-02T03:04:05.000Z',
    verdict: verdictOf('malware'),
    ...overrides,
  };
}

/** Returns the client of one blob of the store's container, for tampering in tests. */
function blobOf(name: string) {
  return BlobServiceClient.fromConnectionString(requireAzuriteConnectionString())
    .getContainerClient(settings.container)
    .getBlockBlobClient(name);
}

async function readStream(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) {
    chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  }
  return Buffer.concat(chunks);
}

function isScannerError(code: ScannerError['code']) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof ScannerError, `expected ScannerError, got ${String(error)}`);
    assert.equal(error.code, code);
    return true;
  };
}

/** Returns a port on 127.0.0.1 that the OS handed out and that nothing listens on any more. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const address = server.address();
  await new Promise<void>((done) => server.close(() => done()));
  assert.ok(address !== null);
  assert.ok(typeof address === 'object');
  return address.port;
}

describe('blob quarantine store: content', () => {
  const cases: { name: string; raw: Buffer }[] = [
    { name: 'invalid UTF-8', raw: Buffer.from([0x53, 0x75, 0xff, 0xfe, 0xc3, 0x28, 0xa0, 0xa1]) },
    { name: 'CRLF and bare LF', raw: Buffer.from('Subject: a\r\nX: b\n\r\nbody\nline\r\n.\r\n') },
    { name: 'NUL bytes', raw: Buffer.from([0x00, 0x41, 0x00, 0x00, 0x0d, 0x0a, 0x00]) },
    { name: 'empty message', raw: Buffer.alloc(0) },
    { name: '20 MB message', raw: randomBytes(20 * 1024 * 1024) },
  ];

  for (const { name, raw } of cases) {
    it(`round trips ${name}`, async () => {
      const { id, created } = await store.put(raw, newItem());

      assert.equal(created, true);
      assert.match(id, /^[0-9a-f]{32}$/);
      const content = await store.getContent(id);
      assert.equal(content.length, raw.length);
      assert.ok(content.equals(raw), 'getContent returned other bytes');
      const streamed = await readStream(await store.openContentStream(id));
      assert.ok(streamed.equals(raw), 'openContentStream returned other bytes');
      await store.verify(id);
    });
  }

  it('stores message/rfc822 with MD5 and SHA-256', async () => {
    const raw = Buffer.from('Subject: hi\r\n\r\nbody\r\n');
    const { id } = await store.put(raw, newItem());

    const properties = await blobOf(`items/${id}/message.eml`).getProperties();
    const metadata = await store.getMetadata(id);
    assert.equal(properties.contentType, 'message/rfc822');
    assert.equal(properties.contentLength, raw.length);
    assert.ok(properties.contentMD5 !== undefined, 'Content-MD5 is missing');
    assert.equal(properties.metadata?.sha256, metadata.sha256);
  });
});

describe('blob quarantine store: idempotency', () => {
  it('returns created false on second put', async () => {
    const raw = Buffer.from('Subject: twice\r\n\r\nsame bytes\r\n');
    const item = newItem();

    const first = await store.put(raw, item);
    const firstMetadata = await store.getMetadata(first.id);
    const second = await store.put(raw, { ...item, verdict: verdictOf('spam') });

    assert.equal(first.created, true);
    assert.equal(second.created, false);
    assert.equal(second.id, first.id);
    await store.verify(second.id);
    const metadata = await store.getMetadata(second.id);
    assert.equal(metadata.verdict.category, 'malware');
    assert.equal(metadata.quarantinedAt, firstMetadata.quarantinedAt);
  });

  it('treats a large repeat as the same item', async () => {
    const raw = randomBytes(9 * 1024 * 1024);
    const item = newItem();

    const first = await store.put(raw, item);
    const second = await store.put(raw, item);

    assert.equal(second.created, false);
    assert.equal(second.id, first.id);
    await store.verify(first.id);
  });

  it('derives ids from mailbox and bytes', async () => {
    const raw = Buffer.from('Subject: shared\r\n\r\nsent to two mailboxes\r\n');

    const a = await store.put(raw, newItem({ mailbox: 'Alice@Contoso.com' }));
    const aLower = await store.put(raw, newItem({ mailbox: 'alice@contoso.com' }));
    const b = await store.put(raw, newItem({ mailbox: 'bob@contoso.com' }));

    assert.equal(aLower.id, a.id);
    assert.equal(aLower.created, false);
    assert.notEqual(b.id, a.id);
    assert.equal(b.created, true);
  });

  it('rejects a conflicting stored copy', async () => {
    const raw = Buffer.from('Subject: conflict\r\n\r\noriginal\r\n');
    const item = newItem();
    const { id } = await store.put(raw, item);
    await blobOf(`items/${id}/message.eml`).upload('replaced', 8);

    await assert.rejects(store.put(raw, item), isScannerError('blob-conflict'));
  });
});

describe('blob quarantine store: integrity', () => {
  const tamperings: { name: string; replacement: Buffer }[] = [
    { name: 'different bytes', replacement: Buffer.from('Subject: forged\r\n\r\nother\r\n') },
    { name: 'same length', replacement: Buffer.from('Subject: tamper\r\n\r\nbodY\r\n') },
    { name: 'truncated', replacement: Buffer.from('Subject: tam') },
    { name: 'empty', replacement: Buffer.alloc(0) },
  ];

  for (const { name, replacement } of tamperings) {
    it(`detects a tampered blob: ${name}`, async () => {
      const raw = Buffer.from('Subject: tamper\r\n\r\nbody\r\n');
      const { id } = await store.put(raw, newItem());
      await store.verify(id);

      await blobOf(`items/${id}/message.eml`).upload(replacement, replacement.length);

      await assert.rejects(store.verify(id), isScannerError('blob-integrity'));
      await assert.rejects(store.getContent(id), isScannerError('blob-integrity'));
      await assert.rejects(
        readStream(await store.openContentStream(id)),
        isScannerError('blob-integrity'),
      );
    });
  }

  it('reports a missing message as damaged', async () => {
    const { id } = await store.put(Buffer.from('Subject: gone\r\n\r\n'), newItem());
    await blobOf(`items/${id}/message.eml`).delete();

    await assert.rejects(store.verify(id), isScannerError('blob-integrity'));
  });

  it('rejects damaged metadata', async () => {
    const { id } = await store.put(Buffer.from('Subject: meta\r\n\r\n'), newItem());
    const damaged = Buffer.from('{"schemaVersion":1,"id":"not json');
    await blobOf(`items/${id}/metadata.json`).upload(damaged, damaged.length);

    await assert.rejects(store.getMetadata(id), isScannerError('blob-integrity'));
  });
});

describe('blob quarantine store: ids and lookups', () => {
  it('reports an unknown id as not found', async () => {
    const unknown = '0123456789abcdef0123456789abcdef';

    await assert.rejects(store.getMetadata(unknown), isScannerError('quarantine-not-found'));
    await assert.rejects(store.getContent(unknown), isScannerError('quarantine-not-found'));
    await assert.rejects(store.verify(unknown), isScannerError('quarantine-not-found'));
    await assert.rejects(store.openContentStream(unknown), isScannerError('quarantine-not-found'));
  });

  const invalidIds = [
    '../x',
    'a/b',
    '%2e%2e',
    '..',
    'abc\0def',
    `${'0'.repeat(31)}\0`,
    '0'.repeat(33),
    '0'.repeat(31),
    '0123456789ABCDEF0123456789ABCDEF',
    `${'0'.repeat(30)}/.`,
    '',
  ];
  for (const invalidId of invalidIds) {
    it(`rejects invalid id ${JSON.stringify(invalidId)}`, async () => {
      const invalid = (error: unknown): boolean => {
        assert.ok(error instanceof ScannerError);
        assert.equal(error.code, 'quarantine-not-found');
        assert.match(error.message, /Invalid quarantine id/);
        return true;
      };
      await assert.rejects(store.getMetadata(invalidId), invalid);
      await assert.rejects(store.getContent(invalidId), invalid);
      await assert.rejects(store.verify(invalidId), invalid);
      await assert.rejects(store.openContentStream(invalidId), invalid);
    });
  }
});

describe('blob quarantine store: metadata', () => {
  it('round trips emoji and RTL text', async () => {
    const item = newItem({
      subject: 'Rechnung 📎🔥 — فاتورة عاجلة — חשבונית',
      sender: 'مرسل <sender@fabrikam.com>',
      recipients: ['Zoë <zoe@contoso.com>', 'ユーザー <user@contoso.com>'],
      folder: 'Posteingang/Überprüfung',
    });
    const raw = Buffer.from('Subject: =?UTF-8?B?8J+Tjg==?=\r\n\r\n');

    const { id } = await store.put(raw, item);
    const metadata = await store.getMetadata(id);

    assert.equal(metadata.subject, item.subject);
    assert.equal(metadata.sender, item.sender);
    assert.deepEqual(metadata.recipients, item.recipients);
    assert.equal(metadata.folder, item.folder);
  });

  it('records size, SHA-256 and retention', async () => {
    const raw = Buffer.from('Subject: sized\r\n\r\n12345\r\n');
    const before = Date.now();

    const { id } = await store.put(raw, newItem());
    const metadata = await store.getMetadata(id);

    assert.equal(metadata.id, id);
    assert.equal(metadata.size, raw.length);
    assert.match(metadata.sha256, /^[0-9a-f]{64}$/);
    const quarantinedAt = Date.parse(metadata.quarantinedAt);
    assert.ok(quarantinedAt >= before - 1000, 'quarantinedAt is before the put');
    assert.ok(quarantinedAt <= Date.now() + 1000, 'quarantinedAt is in the future');
    const retentionMs = Date.parse(metadata.expiresAt) - quarantinedAt;
    assert.equal(retentionMs, settings.retentionDays * 24 * 60 * 60 * 1000);
    assert.deepEqual(metadata.verdict, verdictOf('malware'));
  });

  it('rejects an invalid receivedAt before storing', async () => {
    const raw = Buffer.from('Subject: bad time\r\n\r\n');

    await assert.rejects(
      store.put(raw, newItem({ receivedAt: 'yesterday' })),
      (error: unknown) => {
        assert.ok(error instanceof ScannerError);
        assert.equal(error.code, 'input-unreadable');
        assert.match(error.message, /receivedAt/);
        assert.doesNotMatch(error.message, /yesterday/);
        return true;
      },
    );
  });

  it('logs no subject or address', async () => {
    const logger = createRecordingLogger();
    const loggingStore = createBlobQuarantineStore({ settings, logger });
    const item = newItem({ subject: 'Secret merger plans' });

    await loggingStore.put(Buffer.from('Subject: Secret merger plans\r\n\r\n'), item);

    assert.ok(logger.lines.length > 0, 'put logged nothing');
    const logged = JSON.stringify(logger.lines);
    assert.doesNotMatch(logged, /Secret merger/);
    assert.ok(!logged.includes(item.mailbox ?? '-'), 'mailbox address was logged');
    assert.ok(!logged.includes('sender@fabrikam.com'), 'sender address was logged');
    assert.ok(!logged.includes('AccountKey'), 'connection string was logged');
  });
});

describe('blob quarantine store: list', () => {
  const listSettings = testQuarantineSettings('list');
  const logger = createRecordingLogger();
  const listStore = createBlobQuarantineStore({ settings: listSettings, logger });

  async function listIds(options?: Parameters<typeof listStore.list>[0]): Promise<string[]> {
    const ids: string[] = [];
    for await (const metadata of listStore.list(options)) {
      ids.push(metadata.id);
    }
    return ids.sort();
  }

  it('returns nothing before the container exists', async () => {
    assert.deepEqual(await listIds(), []);
  });

  it('filters by mailbox and category', async () => {
    const put = (body: string, mailbox: string | undefined, category: Category) => {
      const raw = Buffer.from(`Subject: ${body}\r\n\r\n`);
      return listStore.put(raw, newItem({ mailbox, verdict: verdictOf(category) }));
    };
    const aliceSpam = await put('1', 'alice@contoso.com', 'spam');
    const aliceMalware = await put('2', 'alice@contoso.com', 'malware');
    const bobMalware = await put('3', 'bob@contoso.com', 'malware');
    const localPhish = await put('4', undefined, 'phishing');

    assert.deepEqual(
      await listIds(),
      [aliceSpam.id, aliceMalware.id, bobMalware.id, localPhish.id].sort(),
    );
    assert.deepEqual(
      await listIds({ mailbox: 'ALICE@contoso.com' }),
      [aliceSpam.id, aliceMalware.id].sort(),
    );
    assert.deepEqual(
      await listIds({ category: 'malware' }),
      [aliceMalware.id, bobMalware.id].sort(),
    );
    assert.deepEqual(await listIds({ mailbox: 'bob@contoso.com', category: 'spam' }), []);
    assert.deepEqual(await listIds({ mailbox: 'bob@contoso.com', category: 'malware' }), [
      bobMalware.id,
    ]);
    assert.equal((await listIds({ limit: 3 })).length, 3);
  });

  it('lists across pages', async () => {
    // A page size of 3 splits 4 items (8 blobs) over three listing requests.
    const pagedStore = createBlobQuarantineStore({
      settings: testQuarantineSettings('pages'),
      logger: silentLogger,
      listPageSize: 3,
    });
    const ids = new Set<string>();
    for (let index = 0; index < 4; index += 1) {
      const raw = Buffer.from(`Subject: ${index}\r\n\r\n`);
      const { id } = await pagedStore.put(raw, newItem());
      ids.add(id);
    }

    const listed: string[] = [];
    for await (const metadata of pagedStore.list()) {
      listed.push(metadata.id);
    }

    assert.equal(listed.length, 4);
    assert.deepEqual(new Set(listed), ids);
  });

  it('skips and logs damaged metadata', async () => {
    const { id } = await listStore.put(Buffer.from('Subject: damaged\r\n\r\n'), newItem());
    const damaged = Buffer.from('[]');
    await BlobServiceClient.fromConnectionString(requireAzuriteConnectionString())
      .getContainerClient(listSettings.container)
      .getBlockBlobClient(`items/${id}/metadata.json`)
      .upload(damaged, damaged.length);

    const ids = await listIds();

    assert.ok(!ids.includes(id), 'damaged item was listed');
    assert.ok(ids.length >= 4, 'other items were not listed');
    const warning = logger.lines.find((line) => line.level === 'warn');
    assert.equal(warning?.fields?.quarantineId, id);
  });

  it('rejects a limit of zero', () => {
    assert.throws(() => listStore.list({ limit: 0 }), isScannerError('config-invalid'));
  });

  it('rejects an unknown category', () => {
    assert.throws(() => listStore.list({ category: 'nonsense' }), isScannerError('config-invalid'));
  });
});

describe('blob quarantine store: configuration and failures', () => {
  it('creates a private container', async () => {
    await store.put(Buffer.from('Subject: private\r\n\r\n'), newItem());

    const policy = await BlobServiceClient.fromConnectionString(requireAzuriteConnectionString())
      .getContainerClient(settings.container)
      .getAccessPolicy();
    assert.equal(policy.blobPublicAccess, undefined);
  });

  it('rejects missing storage settings', () => {
    assert.throws(
      () =>
        createBlobQuarantineStore({
          settings: { container: 'quarantine', retentionDays: 30 },
          logger: silentLogger,
        }),
      isScannerError('config-invalid'),
    );
  });

  it('rejects a malformed connection string', () => {
    assert.throws(
      () =>
        createBlobQuarantineStore({
          settings: {
            connectionString: 'not-a-connection-string',
            container: 'quarantine',
            retentionDays: 1,
          },
          logger: silentLogger,
        }),
      isScannerError('config-invalid'),
    );
  });

  it('reports unreachable storage as transient', async () => {
    const port = await closedPort();
    const connectionString = requireAzuriteConnectionString().replace(
      /BlobEndpoint=http:\/\/127\.0\.0\.1:\d+/,
      `BlobEndpoint=http://127.0.0.1:${port}`,
    );
    const deadStore = createBlobQuarantineStore({
      settings: { connectionString, container: 'unreachable', retentionDays: 1 },
      logger: silentLogger,
      retryOptions: { maxTries: 1 },
    });

    await assert.rejects(deadStore.put(Buffer.from('x'), newItem()), (error: unknown) => {
      assert.ok(error instanceof ScannerError);
      assert.equal(error.code, 'blob-unavailable');
      assert.equal(error.transient, true);
      assert.ok(error.cause !== undefined, 'cause is missing');
      assert.doesNotMatch(error.message, /AccountKey|127\.0\.0\.1/);
      return true;
    });
    await assert.rejects(
      deadStore.getMetadata('0123456789abcdef0123456789abcdef'),
      isScannerError('blob-unavailable'),
    );
  });
});
