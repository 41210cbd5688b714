import type { Deadline, EngineResult, MessageView, ScanEngine } from '../types.js';
import { isAnchorMismatch } from './anchor-text.js';
import type { UrlSource } from './extracted-url.js';
import { ENGINE_NAME, FindingRecorder } from './finding-recorder.js';
import { type HostFacts, describeHost, isNonRoutableIp } from './hosts.js';
import { type LookalikeMatch, type LookalikeMatcher, createLookalikeMatcher } from './lookalike.js';
import { type SenderDomain, findFromDomain, findSenderDomains } from './sender-domains.js';
import {
  type ExtractedPasswordForm,
  type LinkCollection,
  MAX_URLS_PER_MESSAGE,
  type ParsedExtractedUrl,
  collectLinks,
} from './url-extraction.js';
import type { UrlFeed } from './url-feed.js';

/** Options of {@link createEmbeddedAntiphishing}. */
export interface EmbeddedAntiphishingOptions {
  /**
   * Domains of the organization, lower case (`contoso.com`). Hosts equal to one or below one are
   * never look-alikes, and an empty list turns the look-alike check off.
   */
  organizationDomains: readonly string[];
  /** Known phishing domains and URLs. Default: none, so the feed check is off. */
  urlFeed?: UrlFeed;
  /** Most UTF-8 bytes of each text or HTML body that are searched for links. */
  maxHtmlBytes: number;
}

/** Host look-ups are cached across messages up to this many hosts, then the cache restarts. */
const MAX_CACHED_HOSTS = 10_000;

/** The deadline is checked once per this many URLs. */
const URLS_PER_DEADLINE_CHECK = 32;

/** Sources through which the reader navigates to the URL: a click, a form post or a redirect. */
const NAVIGATION_SOURCES: ReadonlySet<UrlSource> = new Set(['href', 'form-action', 'meta-refresh']);

/** Facts about the sender, taken from the From and Reply-To fields. */
interface SenderFacts {
  /** Registrable domains written in From and Reply-To, display names included. */
  registrableDomains: ReadonlySet<string>;
  /** The From address is on an organization domain. Headers can be forged, so this is a claim. */
  isInternal: boolean;
}

interface HostAnalysis {
  facts: HostFacts;
  lookalike: LookalikeMatch | undefined;
}

/** Options and caches shared by every scan of one engine. */
interface EngineContext {
  maxHtmlBytes: number;
  urlFeed: UrlFeed | undefined;
  lookalikes: LookalikeMatcher;
  organizationRegistrableDomains: ReadonlySet<string>;
  hosts: Map<string, HostAnalysis>;
}

/**
 * Creates the embedded antiphishing engine. It reads the subject, the text and HTML bodies and the
 * From and Reply-To fields, and reports `phishing` findings with these signatures:
 * `Phish.AnchorMismatch`, `Phish.IpLiteral`, `Phish.Lookalike`, `Phish.PasswordFormOffsite` and
 * `Phish.UrlFeed`. A body cut at `maxHtmlBytes`, more than {@link MAX_URLS_PER_MESSAGE} URL
 * candidates and a passed deadline are `unscannable` findings (`limit.html-bytes`,
 * `limit.text-bytes`, `limit.urls`, `limit.scan-timeout`), because the rest went unchecked.
 */
export function createEmbeddedAntiphishing(options: EmbeddedAntiphishingOptions): ScanEngine {
  const lookalikes = createLookalikeMatcher(options.organizationDomains);
  const organizationRegistrableDomains = new Set(
    options.organizationDomains.flatMap(
      (domain) => describeHost(domain.trim()).registrableDomain ?? [],
    ),
  );
  const context: EngineContext = {
    maxHtmlBytes: options.maxHtmlBytes,
    urlFeed: options.urlFeed,
    lookalikes,
    organizationRegistrableDomains,
    hosts: new Map(),
  };
  return {
    name: ENGINE_NAME,
    stage: 'antiphishing',
    scan: (view, deadline) => scanMessage(view, deadline, context),
  };
}

function scanMessage(view: MessageView, deadline: Deadline, context: EngineContext): EngineResult {
  const recorder = new FindingRecorder();
  const links = collectLinks(view, context.maxHtmlBytes, deadline);
  const senderDomains = findSenderDomains(view.headers);
  checkSenderDomains(senderDomains, context, recorder);
  const sender = describeSender(view, senderDomains, context);

  let timedOut = links.timedOut;
  for (let index = 0; index < links.urls.length && !timedOut; index += 1) {
    if (index % URLS_PER_DEADLINE_CHECK === 0 && deadline.expired()) {
      timedOut = true;
      break;
    }
    const url = links.urls[index];
    if (url !== undefined) {
      checkUrl(url, sender, context, recorder);
    }
  }

  for (const form of links.passwordForms) {
    checkPasswordForm(form, sender, context, recorder);
  }
  recordLimits(links, timedOut, context, recorder);
  return { findings: recorder.findings };
}

function checkUrl(
  url: ParsedExtractedUrl,
  sender: SenderFacts,
  context: EngineContext,
  recorder: FindingRecorder,
): void {
  const host = analyzeHost(url.hostname, context);
  if (
    host.facts.isIpLiteral &&
    NAVIGATION_SOURCES.has(url.source) &&
    !isNonRoutableIp(host.facts.hostname)
  ) {
    recorder.addPhishing(
      'Phish.IpLiteral',
      url.href,
      url.mimePath,
      `link target is an IP address literal (${url.source})`,
    );
  }
  if (host.lookalike !== undefined) {
    recorder.addPhishing(
      'Phish.Lookalike',
      url.href,
      url.mimePath,
      `link host imitates the organization domain ${host.lookalike.organizationDomain} ` +
        `(${host.lookalike.kind}, ${url.source})`,
    );
  }
  if (
    url.anchorText !== undefined &&
    isAnchorMismatch(url.anchorText, url.url, host.facts, {
      senderDomains: sender.registrableDomains,
      isOrganizationHost: context.lookalikes.isOrganizationHost,
    })
  ) {
    recorder.addPhishing(
      'Phish.AnchorMismatch',
      url.href,
      url.mimePath,
      'link text shows a domain other than the registrable domain of the link target',
    );
  }
  const feedMatch = context.urlFeed?.match(url.url);
  if (feedMatch !== undefined) {
    recorder.addPhishing(
      'Phish.UrlFeed',
      url.href,
      url.mimePath,
      `link is listed in the URL feed (${feedMatch} entry, ${url.source})`,
    );
  }
}

function describeSender(
  view: MessageView,
  senderDomains: readonly SenderDomain[],
  context: EngineContext,
): SenderFacts {
  const registrableDomains = new Set<string>();
  for (const sender of senderDomains) {
    const domain = analyzeHost(sender.hostname, context).facts.registrableDomain;
    if (domain !== undefined) {
      registrableDomains.add(domain);
    }
  }
  const fromDomain = findFromDomain(view.headers);
  const isInternal = fromDomain !== undefined && context.lookalikes.isOrganizationHost(fromDomain);
  return { registrableDomains, isInternal };
}

function checkSenderDomains(
  senderDomains: readonly SenderDomain[],
  context: EngineContext,
  recorder: FindingRecorder,
): void {
  for (const sender of senderDomains) {
    const header = sender.header === 'from' ? 'From' : 'Reply-To';
    const lookalike = analyzeHost(sender.hostname, context).lookalike;
    if (lookalike !== undefined) {
      recorder.addPhishing(
        'Phish.Lookalike',
        `${sender.header}:${sender.hostname}`,
        '',
        `sender domain in ${header} imitates the organization domain ` +
          `${lookalike.organizationDomain} (${lookalike.kind})`,
      );
    }
    if (context.urlFeed?.matchesHost(sender.hostname) === true) {
      recorder.addPhishing(
        'Phish.UrlFeed',
        `${sender.header}:${sender.hostname}`,
        '',
        `sender domain in ${header} is listed in the URL feed (domain entry)`,
      );
    }
  }
}

/**
 * Reports a password form unless an internal sender's form posts to an organization domain,
 * which is the only legitimate case in mail.
 */
function checkPasswordForm(
  form: ExtractedPasswordForm,
  sender: SenderFacts,
  context: EngineContext,
  recorder: FindingRecorder,
): void {
  const key = `${form.mimePath}\u0000${form.action?.href ?? ''}`;
  const report = (reason: string): void =>
    recorder.addPhishing('Phish.PasswordFormOffsite', key, form.mimePath, reason);
  if (!form.hasAction) {
    report('HTML form with a password field has no action');
    return;
  }
  if (form.action === undefined) {
    report('HTML form with a password field has an action that is not an absolute web URL');
    return;
  }
  const actionDomain = analyzeHost(form.action.hostname, context).facts.registrableDomain;
  if (actionDomain === undefined || !context.organizationRegistrableDomains.has(actionDomain)) {
    report('HTML form with a password field posts to a domain outside the organization');
  } else if (!sender.isInternal) {
    report('HTML form with a password field from an external sender posts to the organization');
  }
}

function recordLimits(
  links: LinkCollection,
  timedOut: boolean,
  context: EngineContext,
  recorder: FindingRecorder,
): void {
  for (const body of links.truncatedBodies) {
    recorder.addLimit(
      `limit.${body.type === 'html' ? 'html' : 'text'}-bytes`,
      body.mimePath,
      `only the first ${context.maxHtmlBytes} bytes of the ${body.type} body were checked for links`,
    );
  }
  if (links.urlLimitReached) {
    recorder.addLimit(
      'limit.urls',
      '',
      `only the first ${MAX_URLS_PER_MESSAGE} URLs of the message were checked`,
    );
  }
  if (timedOut) {
    recorder.addLimit('limit.scan-timeout', '', 'link checks stopped at the scan deadline');
  }
}

function analyzeHost(hostname: string, context: EngineContext): HostAnalysis {
  const cached = context.hosts.get(hostname);
  if (cached !== undefined) {
    return cached;
  }
  if (context.hosts.size >= MAX_CACHED_HOSTS) {
    context.hosts.clear();
  }
  const facts = describeHost(hostname);
  const analysis = { facts, lookalike: context.lookalikes.match(facts) };
  context.hosts.set(hostname, analysis);
  return analysis;
}
