import { parse } from 'tldts';

/** Facts about one host name that several checks need. */
export interface HostFacts {
  /** Lower-case ASCII host name without a trailing dot, IPv6 in brackets. */
  hostname: string;
  /** Registrable domain (`contoso.co.uk`), or undefined for IP literals and bare suffixes. */
  registrableDomain: string | undefined;
  /** Registrable domain without its public suffix (`contoso`), or `''`. */
  registrableLabel: string;
  /** Labels left of the registrable domain (`mail.eu` in `mail.eu.contoso.com`), or `''`. */
  subdomain: string;
  isIpLiteral: boolean;
}

/**
 * Public Suffix List private entries are included, so `a.azurewebsites.net` and
 * `b.azurewebsites.net` are different registrable domains, as they have different owners.
 */
const TLDTS_OPTIONS = { allowPrivateDomains: true, extractHostname: false } as const;

const DOTTED_IPV4 = /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;

/** Hosts described by {@link describeHost} are kept up to this many, then the cache restarts. */
const MAX_CACHED_HOSTS = 4096;

/** Longest host name that is cached, so the cache holds at most about 1 MB of keys. */
const MAX_CACHED_HOST_CHARS = 255;

const describedHosts = new Map<string, HostFacts>();

/** Lower-cases a host name and drops trailing dots (`Contoso.COM.` becomes `contoso.com`). */
export function normalizeHostname(hostname: string): string {
  let end = hostname.length;
  while (end > 0 && hostname.charCodeAt(end - 1) === 0x2e) {
    end -= 1;
  }
  return hostname.slice(0, end).toLowerCase();
}

/**
 * Describes a host name as produced by the WHATWG URL parser, which already turned decimal, hex
 * and octal IPv4 forms (`3232235777`, `0xC0.0250.1.1`) into dotted quads. Callers share the
 * returned object through a cache and must not change it.
 */
export function describeHost(hostname: string): HostFacts {
  const cached = describedHosts.get(hostname);
  if (cached !== undefined) {
    return cached;
  }
  const facts = readHostFacts(hostname);
  if (hostname.length <= MAX_CACHED_HOST_CHARS) {
    if (describedHosts.size >= MAX_CACHED_HOSTS) {
      describedHosts.clear();
    }
    describedHosts.set(hostname, facts);
  }
  return facts;
}

function readHostFacts(hostname: string): HostFacts {
  const host = normalizeHostname(hostname);
  if (host.startsWith('[') || DOTTED_IPV4.test(host)) {
    return {
      hostname: host,
      registrableDomain: undefined,
      registrableLabel: '',
      subdomain: '',
      isIpLiteral: true,
    };
  }

  const parsed = parse(host, TLDTS_OPTIONS);
  return {
    hostname: host,
    registrableDomain: parsed.domain ?? undefined,
    registrableLabel: parsed.domainWithoutSuffix ?? '',
    subdomain: parsed.subdomain ?? '',
    isIpLiteral: parsed.isIp === true,
  };
}

/** True when `host` is `domain` or one of its subdomains. Both must be normalized. */
export function isSameOrSubdomain(host: string, domain: string): boolean {
  return (
    host === domain ||
    (host.length > domain.length &&
      host.endsWith(domain) &&
      host.charCodeAt(host.length - domain.length - 1) === 0x2e)
  );
}

/**
 * True for addresses that cannot be reached from the internet: loopback, unspecified, RFC 1918
 * private, link-local, carrier-grade NAT, and IPv6 unique-local. A phishing page for an outside
 * attacker cannot live there, and mailing lists about servers mention such addresses often.
 * Expects a normalized host: dotted IPv4, or IPv6 in brackets as the WHATWG URL parser writes it.
 */
export function isNonRoutableIp(hostname: string): boolean {
  if (hostname.startsWith('[')) {
    const address = hostname.slice(1, -1);
    return (
      address === '::1' ||
      address === '::' ||
      /^fe[89ab]/.test(address) ||
      /^f[cd]/.test(address) ||
      (address.startsWith('::ffff:') && isNonRoutableMappedIpv4(address.slice(7)))
    );
  }
  if (!DOTTED_IPV4.test(hostname)) {
    return false;
  }
  const [first = 0, second = 0] = hostname.split('.', 2).map(Number);
  return (
    first === 0 ||
    first === 10 ||
    first === 127 ||
    (first === 100 && second >= 64 && second <= 127) ||
    (first === 169 && second === 254) ||
    (first === 172 && second >= 16 && second <= 31) ||
    (first === 192 && second === 168)
  );
}

/** Checks the IPv4 part of a mapped address, which the WHATWG parser writes as hex (`a00:1`). */
function isNonRoutableMappedIpv4(groups: string): boolean {
  const [high, low] = groups.split(':');
  if (high === undefined || low === undefined || high === '' || low === '') {
    return false;
  }
  const highValue = Number.parseInt(high, 16);
  const lowValue = Number.parseInt(low, 16);
  const dotted = [highValue >> 8, highValue & 0xff, lowValue >> 8, lowValue & 0xff].join('.');
  return isNonRoutableIp(dotted);
}
