import type { Category, Finding, HeaderField } from '../types.js';
import { parseAuthenticationResults } from './authentication-results.js';

/**
 * Spam confidence level (SCL) from which Exchange Online Protection treats a message as spam:
 * 5 and 6 are spam, 7 to 9 high-confidence spam, and -1 means the organization marked it safe.
 */
const MIN_SPAM_SCL = 5;

/**
 * Bulk complaint level (BCL, 0 to 9) at or above which a message is reported as bulk spam.
 * NOTE: 7 is believed to be the default bulk threshold of Microsoft's anti-spam policies. An
 * organization with another `BulkThreshold` gets bulk findings that differ from its own policy.
 */
const MIN_SPAM_BCL = 7;

/** Spam filtering verdicts (SFV) and categories (CAT) of X-Forefront-Antispam-Report. */
const SPAM_FILTER_VERDICTS = new Set(['SPM', 'BLK']);
const CATEGORY_BY_CAT: Readonly<Record<string, Exclude<Category, 'clean'>>> = {
  SPM: 'spam',
  HSPM: 'spam',
  BULK: 'spam',
  PHSH: 'phishing',
  HPHSH: 'phishing',
  MALW: 'malware',
};

/**
 * Reads the verdicts that Exchange Online Protection stamps on delivered messages: the
 * organization SCL, X-Forefront-Antispam-Report (SFV, CAT, SCL), the BCL in X-Microsoft-Antispam
 * and the Authentication-Results field. Only the first (topmost) instance of each field is read.
 * Exchange Online prepends its own fields above anything the sender wrote, so a forged copy
 * further down is ignored.
 * NOTE: a message that never passed Exchange Online (a local file, an on-premises-only route)
 * has no such stamp, and there the topmost field may be the sender's own forgery.
 */
export function readExchangeVerdicts(headers: readonly HeaderField[], engine: string): Finding[] {
  const findings: Finding[] = [];
  const add = (category: Exclude<Category, 'clean'>, signature: string, reason: string): void => {
    findings.push({ stage: 'antispam', engine, category, signature, reason, mimePath: '' });
  };

  const scl = parseLevel(firstValue(headers, 'x-ms-exchange-organization-scl'));
  if (scl !== undefined && scl >= MIN_SPAM_SCL) {
    add('spam', 'Exchange.SCL', `Exchange Online set spam confidence level ${scl}`);
  }

  const report = firstValue(headers, 'x-forefront-antispam-report');
  if (report !== undefined) {
    readForefrontReport(parseReport(report), add);
  }

  const antispam = firstValue(headers, 'x-microsoft-antispam');
  const bcl = antispam === undefined ? undefined : parseLevel(parseReport(antispam).get('BCL'));
  if (bcl !== undefined && bcl >= MIN_SPAM_BCL) {
    add('spam', 'Exchange.BCL', `Exchange Online set bulk complaint level ${bcl}`);
  }

  const authentication = firstValue(headers, 'authentication-results');
  const failure = authentication === undefined ? undefined : describeAuthFailure(authentication);
  if (failure) {
    add('spam', 'Auth.Fail', failure);
  }
  return findings;
}

function readForefrontReport(
  fields: Map<string, string>,
  add: (category: Exclude<Category, 'clean'>, signature: string, reason: string) => void,
): void {
  const verdict = fields.get('SFV');
  if (verdict !== undefined && SPAM_FILTER_VERDICTS.has(verdict)) {
    add('spam', `Exchange.SFV.${verdict}`, `Exchange Online spam filtering verdict ${verdict}`);
  }
  const cat = fields.get('CAT');
  const category = cat === undefined ? undefined : CATEGORY_BY_CAT[cat];
  if (cat !== undefined && category) {
    add(category, `Exchange.CAT.${cat}`, `Exchange Online message category ${cat}`);
  }
  const scl = parseLevel(fields.get('SCL'));
  if (scl !== undefined && scl >= MIN_SPAM_SCL) {
    add(
      'spam',
      'Exchange.SCL',
      `Exchange Online anti-spam report has spam confidence level ${scl}`,
    );
  }
}

/**
 * Returns the reason when the topmost Authentication-Results shows a failure that should count
 * as spam: DMARC failed and the sender's policy asked for quarantine or reject, or Microsoft's
 * composite authentication (compauth) failed. SPF or DKIM failing alone gives no finding,
 * because forwarding breaks SPF and mailing-list footers break DKIM for legitimate mail, and
 * DMARC and compauth already weigh both results with the From domain's alignment.
 */
function describeAuthFailure(value: string): string | undefined {
  const { results } = parseAuthenticationResults(value);
  const dmarc = results.find((result) => result.method === 'dmarc');
  const action = dmarc?.properties.action?.toLowerCase() ?? '';
  if (dmarc?.result === 'fail' && (action.includes('quarantine') || action.includes('reject'))) {
    return `Authentication-Results: dmarc=fail with action=${action.slice(0, 20)}`;
  }
  const compauth = results.find((result) => result.method === 'compauth');
  if (compauth?.result === 'fail') {
    const reason = /^\d{1,4}$/.test(compauth.reason ?? '') ? compauth.reason : 'not given';
    return `Authentication-Results: compauth=fail with reason code ${reason}`;
  }
  return undefined;
}

function firstValue(headers: readonly HeaderField[], key: string): string | undefined {
  return headers.find((field) => field.key === key)?.value;
}

/** Splits `NAME:value;NAME:value` into a map keyed by upper-case name. First value wins. */
function parseReport(value: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const item of value.slice(0, 8192).split(';')) {
    const separator = item.indexOf(':');
    if (separator > 0) {
      const name = item.slice(0, separator).trim().toUpperCase();
      if (!fields.has(name)) {
        fields.set(
          name,
          item
            .slice(separator + 1)
            .trim()
            .toUpperCase(),
        );
      }
    }
  }
  return fields;
}

function parseLevel(value: string | undefined): number | undefined {
  if (value === undefined || !/^\s*-?\d{1,2}\s*$/.test(value)) {
    return undefined;
  }
  return Number(value);
}
