import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { readExchangeVerdicts } from '../../../src/scanning/antispam/index.js';
import type { Finding, HeaderField } from '../../../src/scanning/types.js';

function read(...headers: [string, string][]): Finding[] {
  const fields: HeaderField[] = headers.map(([key, value]) => ({ key, value }));
  return readExchangeVerdicts(fields, 'embedded-spam');
}

function signatures(findings: Finding[]): string[] {
  return findings.map((finding) => `${finding.category}:${finding.signature}`);
}

describe('readExchangeVerdicts', () => {
  it('reports an organization SCL from 5 to 9 as spam', () => {
    assert.deepEqual(signatures(read(['x-ms-exchange-organization-scl', '5'])), [
      'spam:Exchange.SCL',
    ]);
    assert.deepEqual(signatures(read(['x-ms-exchange-organization-scl', '9'])), [
      'spam:Exchange.SCL',
    ]);
    assert.deepEqual(read(['x-ms-exchange-organization-scl', '4']), []);
  });

  it('skips an SCL of -1 set by the organization', () => {
    assert.deepEqual(read(['x-ms-exchange-organization-scl', '-1']), []);
  });

  it('ignores a malformed SCL', () => {
    assert.deepEqual(read(['x-ms-exchange-organization-scl', 'high']), []);
  });

  it('reads SFV and CAT of the Forefront report', () => {
    const report = (fields: string) => read(['x-forefront-antispam-report', fields]);
    assert.deepEqual(signatures(report('CIP:192.0.2.1;SFV:SPM;CAT:NONE;')), [
      'spam:Exchange.SFV.SPM',
    ]);
    assert.deepEqual(signatures(report('SFV:BLK;')), ['spam:Exchange.SFV.BLK']);
    assert.deepEqual(signatures(report('SFV:NSPM;CAT:HSPM;')), ['spam:Exchange.CAT.HSPM']);
    assert.deepEqual(signatures(report('SFV:NSPM;CAT:BULK;')), ['spam:Exchange.CAT.BULK']);
    assert.deepEqual(signatures(report('CAT:PHSH;')), ['phishing:Exchange.CAT.PHSH']);
    assert.deepEqual(signatures(report('CAT:HPHSH;')), ['phishing:Exchange.CAT.HPHSH']);
    assert.deepEqual(signatures(report('CAT:MALW;')), ['malware:Exchange.CAT.MALW']);
    assert.deepEqual(report('SFV:SKN;CAT:NONE;SCL:1;'), []);
  });

  it('reports a BCL at or above 7 in X-Microsoft-Antispam', () => {
    assert.deepEqual(signatures(read(['x-microsoft-antispam', 'BCL:7;'])), ['spam:Exchange.BCL']);
    assert.deepEqual(read(['x-microsoft-antispam', 'BCL:4;ARA:1444111002;']), []);
  });

  it('reports dmarc=fail with a quarantine or reject action', () => {
    const findings = read([
      'authentication-results',
      'spf=fail smtp.mailfrom=example.com; dmarc=fail action=quarantine header.from=example.com',
    ]);
    assert.deepEqual(signatures(findings), ['spam:Auth.Fail']);
    assert.match(findings[0].reason, /dmarc=fail/);
    assert.doesNotMatch(findings[0].reason, /example\.com/);
  });

  it('ignores dmarc=fail when the action is none', () => {
    assert.deepEqual(
      read(['authentication-results', 'dmarc=fail action=none header.from=a.example']),
      [],
    );
  });

  it('reports compauth=fail with its reason code', () => {
    const findings = read(['authentication-results', 'spf=pass; compauth=fail reason=601']);
    assert.deepEqual(signatures(findings), ['spam:Auth.Fail']);
    assert.match(findings[0].reason, /reason code 601/);
  });

  it('gives no finding for spf or dkim failing alone', () => {
    assert.deepEqual(read(['authentication-results', 'mx.example.net; spf=fail; dkim=fail']), []);
  });

  it('trusts only the topmost Authentication-Results', () => {
    const forgedBelow = read(
      ['authentication-results', 'spf=pass; dmarc=pass action=none; compauth=pass reason=100'],
      ['authentication-results', 'compauth=fail reason=601'],
    );
    assert.deepEqual(forgedBelow, []);
    const failingOnTop = read(
      ['authentication-results', 'compauth=fail reason=601'],
      ['authentication-results', 'spf=pass; compauth=pass reason=100'],
    );
    assert.deepEqual(signatures(failingOnTop), ['spam:Auth.Fail']);
  });
});
