import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { printQuarantineTable } from '../../src/cli/output.js';
import type { QuarantineMetadata } from '../../src/quarantine/index.js';

function collect(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString('utf8'));
      done();
    },
  });
  return { stream, text: () => chunks.join('') };
}

function item(source: string): QuarantineMetadata {
  return {
    id: '0123456789abcdef0123456789abcdef',
    recipients: [],
    size: 10,
    sha256: '0'.repeat(64),
    verdict: {
      category: 'malware',
      action: 'quarantine',
      findings: [{ stage: 'antivirus', engine: 'test', category: 'malware', signature: 'Eicar-Test-Signature', reason: 'test', mimePath: '' }],
      durationMs: 1,
    },
    source,
    quarantinedAt: '2027-01-01T00:00:00.000Z',
    expiresAt: '2027-01-31T00:00:00.000Z',
  };
}

describe('printQuarantineTable', () => {
  it('keeps a source with a newline on one row', () => {
    const output = collect();

    printQuarantineTable([item('mail/a\nb.eml')], output.stream);

    const rows = output.text().split('\n').filter((line) => line.includes('0123456789abcdef'));
    assert.equal(rows.length, 1);
    assert.match(rows[0] ?? '', /mail\/a⟨U\+000A⟩b\.eml/);
  });

  it('shows a right-to-left override in a source', () => {
    const output = collect();

    printQuarantineTable([item('invoice\u202Egpj.exe')], output.stream);

    assert.match(output.text(), /invoice⟨U\+202E⟩gpj\.exe/);
    assert.doesNotMatch(output.text(), /\u202E/);
  });
});
