/**
 * Image references with the rules of Docker's distribution/reference (ParseNormalizedNamed,
 * FamiliarName, Domain, Path): Docker Hub is the default domain, single-component Hub names
 * get `library/`, `index.docker.io` becomes `docker.io`, the first path component is a domain
 * only when it has a `.` or `:`, is `localhost`, or has uppercase letters.
 *
 * The bootkit decides with `registryMatches` whether registry credentials go with a pull, so
 * the domain detection here must agree with Docker's exactly.
 */
import { UserError, log } from '@hook/log';

export const DEFAULT_DOMAIN = 'docker.io';
export const LEGACY_DEFAULT_DOMAIN = 'index.docker.io';
/** Where Docker Hub's registry API really lives. */
export const DOCKER_HUB_REGISTRY = 'registry-1.docker.io';
const OFFICIAL_PREFIX = 'library/';
const DEFAULT_TAG = 'latest';
export const REPOSITORY_NAME_MAX = 255;

// The grammar of distribution/reference, written as JS regular expressions.
const alphanumeric = '[a-z0-9]+';
const separator = '(?:[._]|__|[-]+)';
const pathComponent = `${alphanumeric}(?:${separator}${alphanumeric})*`;
const remoteName = `${pathComponent}(?:/${pathComponent})*`;
const domainComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const domainName = `${domainComponent}(?:\\.${domainComponent})*`;
const ipv6 = '\\[(?:[a-fA-F0-9:]+)\\]';
const domainAndPort = `(?:${domainName}|${ipv6})(?::[0-9]+)?`;
const tagPattern = '[\\w][\\w.-]{0,127}';
const digestPattern = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9a-fA-F]{32,}';
const namePattern = `(?:${domainAndPort}/)?${remoteName}`;

const REFERENCE_RE = new RegExp(`^(${namePattern})(?::(${tagPattern}))?(?:@(${digestPattern}))?$`);
const NAME_RE = new RegExp(`^(?:(${domainAndPort})/)?(${remoteName})$`);
const DOMAIN_RE = new RegExp(`^${domainAndPort}$`);
const TAG_RE = new RegExp(`^${tagPattern}$`);
const IDENTIFIER_RE = /^[a-f0-9]{64}$/;
/** The digest algorithms go-digest registers, with their hex lengths. */
const DIGEST_HEX_LENGTH: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };

export class InvalidReferenceError extends UserError {
  constructor(
    readonly input: string,
    readonly reason: string,
  ) {
    super(`invalid image reference ${JSON.stringify(input)}: ${reason}`);
    this.name = 'InvalidReferenceError';
  }
}

export class ImageReference {
  constructor(
    /** The registry host (with port), e.g. `docker.io`, `localhost:5000`, `[::1]:5000`. */
    readonly domain: string,
    /** The repository path, e.g. `library/ubuntu`. */
    readonly path: string,
    readonly tag?: string,
    readonly digest?: string,
  ) {}

  /** `domain/path`, Docker's Name(). */
  get name(): string {
    return `${this.domain}/${this.path}`;
  }

  /** The short form `docker` shows: `ubuntu`, `user/app`, `ghcr.io/x/y`. */
  get familiarName(): string {
    if (this.domain !== DEFAULT_DOMAIN) return this.name;
    if (this.path.startsWith(OFFICIAL_PREFIX)) {
      const rest = this.path.slice(OFFICIAL_PREFIX.length);
      if (!rest.includes('/')) return rest;
    }
    return this.path;
  }

  /** The tag, or the digest, the registry resolves: digest wins, then the tag, then `latest`. */
  get reference(): string {
    return this.digest ?? this.tag ?? DEFAULT_TAG;
  }

  /** Docker's TagNameOnly: adds `latest` when there is neither tag nor digest. */
  withDefaultTag(): ImageReference {
    return this.tag || this.digest ? this : new ImageReference(this.domain, this.path, DEFAULT_TAG);
  }

  withTag(tag: string): ImageReference {
    if (!TAG_RE.test(tag)) throw new InvalidReferenceError(`${this.name}:${tag}`, 'invalid tag format');
    return new ImageReference(this.domain, this.path, tag, undefined);
  }

  withDigest(digest: string): ImageReference {
    return new ImageReference(this.domain, this.path, this.tag, digest);
  }

  /** The full normalised form, `docker.io/library/ubuntu:22.04`. */
  toString(): string {
    return suffix(this.name, this.tag, this.digest);
  }

  /** Docker's FamiliarString: `ubuntu:22.04`. */
  familiarString(): string {
    return suffix(this.familiarName, this.tag, this.digest);
  }
}

function suffix(name: string, tag?: string, digest?: string): string {
  return `${name}${tag ? `:${tag}` : ''}${digest ? `@${digest}` : ''}`;
}

/** Splits off the registry host as Docker does, and adds Docker Hub's defaults. */
function splitDockerDomain(input: string): { domain: string; remainder: string } {
  const slash = input.indexOf('/');
  if (slash < 0) return { domain: DEFAULT_DOMAIN, remainder: OFFICIAL_PREFIX + input };
  const first = input.slice(0, slash);
  const rest = input.slice(slash + 1);
  let domain: string;
  let remainder: string;
  if (first === 'localhost' || first.includes('.') || first.includes(':') || first.toLowerCase() !== first) {
    domain = first === LEGACY_DEFAULT_DOMAIN ? DEFAULT_DOMAIN : first;
    remainder = rest;
  } else {
    domain = DEFAULT_DOMAIN;
    remainder = input;
  }
  if (domain === DEFAULT_DOMAIN && !remainder.includes('/')) remainder = OFFICIAL_PREFIX + remainder;
  return { domain, remainder };
}

/**
 * Docker's ParseNormalizedNamed: `ubuntu` -> docker.io/library/ubuntu. Keeps tag and digest as
 * given (no `latest` added; see `withDefaultTag`). Throws InvalidReferenceError.
 */
export function parseNormalizedNamed(input: string): ImageReference {
  if (IDENTIFIER_RE.test(input)) throw new InvalidReferenceError(input, 'cannot specify 64-byte hexadecimal strings as a repository name');
  if (input === '') throw new InvalidReferenceError(input, 'repository name must have at least one component');
  const { domain, remainder } = splitDockerDomain(input);
  const colon = remainder.indexOf(':');
  const remote = colon < 0 ? remainder : remainder.slice(0, colon);
  if (remote.toLowerCase() !== remote) throw new InvalidReferenceError(input, `repository name (${remote}) must be lowercase`);
  return parseReference(`${domain}/${remainder}`, input);
}

/** Docker's Parse on an already qualified string. */
function parseReference(text: string, input: string): ImageReference {
  const match = REFERENCE_RE.exec(text);
  if (!match) {
    const lower = text.toLowerCase();
    if (lower !== text && REFERENCE_RE.test(lower)) throw new InvalidReferenceError(input, 'repository name must be lowercase');
    throw new InvalidReferenceError(input, 'invalid reference format');
  }
  const [, name, tag, digest] = match;
  const nameMatch = NAME_RE.exec(name!)!;
  const domain = nameMatch[1] ?? '';
  const path = nameMatch[2]!;
  if (path.length > REPOSITORY_NAME_MAX) throw new InvalidReferenceError(input, `repository name must not be more than ${REPOSITORY_NAME_MAX} characters`);
  if (digest) validateDigest(digest, input);
  return new ImageReference(domain, path, tag || undefined, digest || undefined);
}

/** go-digest's rules: a known algorithm and lowercase hex of its exact length. */
function validateDigest(digest: string, input: string): void {
  const [algorithm, hex] = digest.split(':') as [string, string];
  const length = DIGEST_HEX_LENGTH[algorithm];
  if (length === undefined) throw new InvalidReferenceError(input, `unsupported digest algorithm ${algorithm}`);
  if (hex.length !== length) throw new InvalidReferenceError(input, 'invalid checksum digest length');
  if (!/^[a-f0-9]+$/.test(hex)) throw new InvalidReferenceError(input, 'invalid checksum digest format');
}

/** Like parseNormalizedNamed, and adds `latest` when neither tag nor digest is given. */
export function parseImageReference(input: string): ImageReference {
  return parseNormalizedNamed(input).withDefaultTag();
}

const warnedSettings = new Set<string>();

/**
 * Turns a registry setting (the `docker_registry` kernel parameter, a config value) into the
 * host it names, or undefined when it is not a registry host. `https://myreg:5000` is taken
 * as `myreg:5000` (with a warning once: the setting wants a bare host), and
 * `index.docker.io` as `docker.io`, the domain Docker gives Hub images. Case is kept.
 */
export function registryHostFromSetting(setting: string): string | undefined {
  let value = setting.normalize('NFC').trim();
  const scheme = /^(https?):\/\//i.exec(value);
  if (scheme) {
    value = value.slice(scheme[0].length).replace(/\/+$/, '');
    if (!warnedSettings.has(setting)) {
      warnedSettings.add(setting);
      log.warn(`registry setting ${JSON.stringify(setting)} has a scheme; using the host ${JSON.stringify(value)} (write the bare host[:port] to silence this)`);
    }
  }
  if (!value || !DOMAIN_RE.test(value)) return undefined;
  return value === LEGACY_DEFAULT_DOMAIN ? DEFAULT_DOMAIN : value;
}

/**
 * True when `imageRef` lives on the configured registry, so its credentials may be sent:
 * exact, case-sensitive equality of Docker's Domain() with the configured host (after the
 * normalisation of registryHostFromSetting). Anything unparsable is false.
 */
export function registryMatches(imageRef: string, configuredRegistry: string): boolean {
  if (!configuredRegistry || !imageRef) return false;
  const host = registryHostFromSetting(configuredRegistry);
  if (!host) return false;
  let ref: ImageReference;
  try {
    ref = parseNormalizedNamed(imageRef.normalize('NFC'));
  } catch {
    return false;
  }
  return ref.domain === host;
}
