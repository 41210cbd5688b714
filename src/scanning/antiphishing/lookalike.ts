import { domainToUnicode } from 'node:url';

import { type HostFacts, describeHost, isSameOrSubdomain, normalizeHostname } from './hosts.js';
import { foldAsciiLookalikes, toLatinSkeleton } from './skeleton.js';

/**
 * Shortest organization label that the edit-distance and hyphenated checks use. Shorter labels
 * are one edit away from too many unrelated domains (`ibm` and `ibn`).
 */
export const MIN_EDIT_DISTANCE_LABEL_LENGTH = 5;

/** Technique by which a host imitates an organization domain. */
export type LookalikeKind =
  'homoglyph' | 'character-substitution' | 'edit-distance' | 'hyphenated' | 'embedded';

/** A host that imitates one of the organization's domains. */
export interface LookalikeMatch {
  kind: LookalikeKind;
  /** The organization domain, as configured, that the host imitates. */
  organizationDomain: string;
}

/** Compares hosts with the organization's domains. */
export interface LookalikeMatcher {
  /** True when the host is an organization domain or a subdomain of one. */
  isOrganizationHost(hostname: string): boolean;
  /** The organization domain that the host imitates, or undefined. */
  match(host: HostFacts): LookalikeMatch | undefined;
}

interface OrganizationDomain {
  domain: string;
  label: string;
  skeleton: string;
  folded: string;
  /** Matches the folded organization domain as consecutive labels inside a longer host. */
  embedded: RegExp;
  /** Matches the folded label as a whole hyphen-separated part of a longer label. */
  hyphenated: RegExp | undefined;
}

/**
 * Builds a matcher for the organization's domains. Entries that have no registrable domain (a
 * bare public suffix such as `co.uk`) still count as organization hosts but are never imitated.
 */
export function createLookalikeMatcher(organizationDomains: readonly string[]): LookalikeMatcher {
  const domains = organizationDomains
    .map((domain) => normalizeHostname(domain.trim()))
    .filter((domain) => domain.length > 0);
  const imitated = domains.flatMap((domain) => toOrganizationDomain(domain) ?? []);

  const isOrganizationHost = (hostname: string): boolean => {
    const host = normalizeHostname(hostname);
    return domains.some((domain) => isSameOrSubdomain(host, domain));
  };

  const match = (host: HostFacts): LookalikeMatch | undefined => {
    if (imitated.length === 0 || host.isIpLiteral || host.registrableLabel === '') {
      return undefined;
    }
    if (isOrganizationHost(host.hostname)) {
      return undefined;
    }
    const skeleton = toLatinSkeleton(toUnicodeLabel(host.registrableLabel));
    const folded = foldAsciiLookalikes(skeleton);
    const subdomain = host.subdomain === '' ? '' : foldHost(host.subdomain);
    for (const organization of imitated) {
      const kind = compareWithOrganization(host, skeleton, folded, subdomain, organization);
      if (kind !== undefined) {
        return { kind, organizationDomain: organization.domain };
      }
    }
    return undefined;
  };

  return { isOrganizationHost, match };
}

function compareWithOrganization(
  host: HostFacts,
  skeleton: string,
  folded: string,
  subdomain: string,
  organization: OrganizationDomain,
): LookalikeKind | undefined {
  if (subdomain !== '' && organization.embedded.test(subdomain)) {
    return 'embedded';
  }
  // The same label under another suffix (contoso.net) is often the organization's own domain or
  // an unrelated owner, so only a changed label counts.
  if (host.registrableLabel === organization.label) {
    return undefined;
  }
  if (folded === organization.folded) {
    return skeleton === host.registrableLabel ? 'character-substitution' : 'homoglyph';
  }
  if (organization.label.length < MIN_EDIT_DISTANCE_LABEL_LENGTH) {
    return undefined;
  }
  if (isOneEditApart(skeleton, organization.skeleton)) {
    return 'edit-distance';
  }
  if (organization.hyphenated?.test(folded)) {
    return 'hyphenated';
  }
  return undefined;
}

function toOrganizationDomain(domain: string): OrganizationDomain | undefined {
  const facts = describeHost(domain);
  if (facts.registrableDomain === undefined || facts.registrableLabel === '') {
    return undefined;
  }
  const label = facts.registrableLabel;
  const skeleton = toLatinSkeleton(toUnicodeLabel(label));
  const folded = foldAsciiLookalikes(skeleton);
  const foldedLabels = foldHost(facts.registrableDomain).split('.').map(escapeRegExp);
  const embedded = new RegExp(`(?:^|[.-])${foldedLabels.join('[.-]')}(?:$|[.-])`);
  const hyphenated =
    label.length >= MIN_EDIT_DISTANCE_LABEL_LENGTH
      ? new RegExp(`(?:^|-)${escapeRegExp(folded)}(?:-|$)`)
      : undefined;
  return { domain, label, skeleton, folded, embedded, hyphenated };
}

/** Folds every label of a host, turning `xn--` labels into Unicode first. */
function foldHost(hostname: string): string {
  return hostname
    .split('.')
    .map((label) => foldAsciiLookalikes(toLatinSkeleton(toUnicodeLabel(label))))
    .join('.');
}

function toUnicodeLabel(label: string): string {
  if (!label.startsWith('xn--')) {
    return label;
  }
  const unicode = domainToUnicode(label);
  return unicode === '' ? label : unicode;
}

/**
 * True when `a` becomes `b` by exactly one insertion, deletion, substitution or swap of two
 * adjacent characters (optimal string alignment distance 1). Runs in linear time.
 */
export function isOneEditApart(a: string, b: string): boolean {
  if (a === b || Math.abs(a.length - b.length) > 1) {
    return false;
  }
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) {
    start += 1;
  }
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA -= 1;
    endB -= 1;
  }
  const differingA = endA - start;
  const differingB = endB - start;
  if (differingA <= 1 && differingB <= 1) {
    return true;
  }
  return (
    differingA === 2 && differingB === 2 && a[start] === b[start + 1] && a[start + 1] === b[start]
  );
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
