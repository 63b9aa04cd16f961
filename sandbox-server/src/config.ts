/**
 * Configuration as one declarative table: every setting has a BERTH_* variable,
 * a description, a default and a parser. `loadConfig` refuses to start on a bad
 * value and names the variable. The README's settings table mirrors this one.
 */

import type { DiskAmount } from './disk-budget.ts';
import { DEFAULT_BLOCKED_ADDRESSES, parseCidr } from './runtime/firewall.ts';
import { SANDBOX_SUBNET_PREFIX, SLIRP_SUBNET, overlaps, parseAddressPools, parseIpv4Range } from './runtime/address-pools.ts';

type Parser<T> = (raw: string) => T;

interface Setting<T> {
  env: string;
  description: string;
  default: string;
  parse: Parser<T>;
}

function setting<T>(env: string, description: string, defaultValue: string, parse: Parser<T>): Setting<T> {
  return { env, description, default: defaultValue, parse };
}

export function parseInteger(min: number, max: number): Parser<number> {
  return (raw) => {
    if (!/^\d+$/.test(raw.trim())) throw new Error(`expected a whole number, got "${raw}"`);
    const n = Number(raw);
    if (n < min || n > max) throw new Error(`expected a number from ${min} to ${max}, got ${n}`);
    return n;
  };
}

export function parseNumber(min: number, max: number): Parser<number> {
  return (raw) => {
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n)) throw new Error(`expected a number, got "${raw}"`);
    if (n < min || n > max) throw new Error(`expected a number from ${min} to ${max}, got ${n}`);
    return n;
  };
}

const BYTE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** "512m", "1.5g", "65536" -> bytes. */
export function parseBytes(min: number): Parser<number> {
  return (raw) => {
    const m = /^(\d+(?:\.\d+)?)\s*([kmg]?)(?:i?b)?$/i.exec(raw.trim());
    if (!m) throw new Error(`expected a size such as 512m or 2g, got "${raw}"`);
    const bytes = Math.floor(Number(m[1]) * BYTE_UNITS[(m[2] ?? '').toLowerCase()]!);
    if (bytes < min) throw new Error(`expected at least ${min} bytes, got ${bytes}`);
    return bytes;
  };
}

/** "25%" (of the disk's size) or a size such as "100g". */
export const parseDiskAmount: Parser<DiskAmount> = (raw) => {
  const pct = /^(\d+(?:\.\d+)?)\s*%$/.exec(raw.trim());
  if (pct) {
    const percent = Number(pct[1]);
    if (percent > 100) throw new Error(`expected at most 100%, got "${raw}"`);
    return { percent };
  }
  try {
    return { bytes: parseBytes(0)(raw) };
  } catch {
    throw new Error(`expected a share of the disk such as 25% or a size such as 100g, got "${raw}"`);
  }
};

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "30m", "90s", "1h", "14d", "250ms" -> milliseconds. */
export function parseDuration(minMs: number): Parser<number> {
  return (raw) => {
    const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/.exec(raw.trim());
    if (!m) throw new Error(`expected a duration such as 90s, 30m, 2h or 14d, got "${raw}"`);
    const ms = Math.round(Number(m[1]) * DURATION_UNITS[m[2]!]!);
    if (ms < minMs) throw new Error(`expected at least ${minMs} ms, got ${ms} ms`);
    return ms;
  };
}

export function parseOneOf<const T extends string>(...values: T[]): Parser<T> {
  return (raw) => {
    if (!(values as string[]).includes(raw)) throw new Error(`expected one of ${values.join(', ')}, got "${raw}"`);
    return raw as T;
  };
}

/** "auto" or what `parse` accepts. */
export function parseAutoOr<T>(parse: Parser<T>): Parser<T | 'auto'> {
  return (raw) => (raw.trim() === 'auto' ? 'auto' : parse(raw));
}

export const parseString: Parser<string> = (raw) => raw;

export const parseName: Parser<string> = (raw) => {
  if (!/^[a-z0-9][a-z0-9_.-]{0,62}$/.test(raw)) throw new Error(`expected lowercase letters, digits, "-", "_" or ".", got "${raw}"`);
  return raw;
};

/** An http(s) origin-bearing URL without a trailing slash, or "" for "derive it". */
export const parseUrlOrEmpty: Parser<string> = (raw) => {
  if (raw === '') return '';
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`expected a URL such as https://learn.example.org, got "${raw}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`expected an http or https URL, got "${raw}"`);
  return url.origin;
};

/** Comma-separated origins. */
export const parseOrigins: Parser<string[]> = (raw) =>
  raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      const origin = parseUrlOrEmpty(s);
      if (new URL(s).origin !== s.replace(/\/$/, '')) throw new Error(`"${s}" is not a bare origin (scheme://host[:port])`);
      return origin;
    });

const RATE_PERIODS: Record<string, number> = { s: 1, min: 60, h: 3600 };

/** "120/min", "10/s", "1000/h" -> a token bucket whose burst is one period's count; "off" -> no limit. */
export const parseRate: Parser<{ perSecond: number; burst: number } | undefined> = (raw) => {
  if (raw.trim() === 'off') return undefined;
  const m = /^(\d+)\s*\/\s*(s|min|h)$/.exec(raw.trim());
  if (!m || Number(m[1]) < 1) throw new Error(`expected a rate such as 120/min, 10/s or 1000/h, or off, got "${raw}"`);
  return { perSecond: Number(m[1]) / RATE_PERIODS[m[2]!]!, burst: Number(m[1]) };
};

/** Comma-separated IPs or CIDRs ("" for none), normalised to address/prefix. */
export const parseCidrList: Parser<string[]> = (raw) =>
  raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(parseCidr);

export const settings = {
  host: setting('BERTH_HOST', 'Address the server listens on. Use 0.0.0.0 to serve a classroom network.', '127.0.0.1', parseString),
  port: setting('BERTH_PORT', 'Port for the site, the API and the terminal WebSocket (one port).', '4321', parseInteger(0, 65535)),
  publicUrl: setting(
    'BERTH_PUBLIC_URL',
    'The URL learners open, e.g. https://docker.school.example. Empty: http://localhost:<port>.',
    '',
    parseUrlOrEmpty,
  ),
  allowedOrigins: setting(
    'BERTH_ALLOWED_ORIGINS',
    'Extra origins allowed to open terminals (comma-separated). The public URL, localhost and 127.0.0.1 on the port are always allowed.',
    '',
    parseOrigins,
  ),
  instance: setting(
    'BERTH_INSTANCE',
    'Name of this Berth on the engine. Labels scope every container, volume and network to it, so two instances can share an engine.',
    'default',
    parseName,
  ),
  dataDir: setting('BERTH_DATA_DIR', 'Directory for the embedded SQLite store.', '.berth', parseString),
  siteDir: setting('BERTH_SITE_DIR', 'Directory of the built site (astro build output).', 'dist', parseString),
  contentDir: setting('BERTH_CONTENT_DIR', 'Directory of the lessons (their exercise files are checked live).', 'content', parseString),
  sandboxImage: setting('BERTH_SANDBOX_IMAGE', 'Image for learner sandboxes (built by npm run images).', 'berth/sandbox:latest', parseString),
  sandboxMemory: setting('BERTH_SANDBOX_MEMORY', 'Memory limit per sandbox, swap disabled (e.g. 768m, 2g). The default fits 30 learners on a 24 GiB host (see BERTH_MAX_SANDBOXES).', '768m', parseBytes(256 * 1024 ** 2)),
  sandboxCpus: setting('BERTH_SANDBOX_CPUS', 'CPU limit per sandbox, in cores (e.g. 1, 0.5).', '1', parseNumber(0.1, 64)),
  sandboxPids: setting('BERTH_SANDBOX_PIDS', 'Process limit per sandbox, nested containers included.', '1024', parseInteger(64, 65536)),
  sandboxDisk: setting(
    'BERTH_SANDBOX_DISK',
    'Disk per sandbox: the learner\'s files and the nested engine\'s images, containers and volumes (a sparse ext4 image in its volume; host space is used only as it fills). Past it, "No space left on device". Applies to new sandboxes. Every lesson fits in 2 GiB.',
    '4g',
    parseBytes(256 * 1024 ** 2),
  ),
  sandboxNofile: setting(
    'BERTH_SANDBOX_NOFILE',
    'Open files per process in a sandbox (nofile ulimit), nested engine and containers included. At most the engine\'s own limit (dockerd\'s LimitNOFILE).',
    '16384',
    parseInteger(1024, 1048576),
  ),
  sandboxRuntime: setting(
    'BERTH_SANDBOX_RUNTIME',
    'OCI runtime of sandbox containers, as the engine names it (docker info: Runtimes). runc, or a stronger one such as sysbox-runc or kata-runtime if installed (see the threat model).',
    'runc',
    parseName,
  ),
  idleTimeout: setting(
    'BERTH_IDLE_TIMEOUT',
    'A sandbox with no terminal input and no reading on its page (scrolling, clicks, keys: the page reports it at most once a minute) for this long is stopped; its data is kept and it resumes on return.',
    '30m',
    parseDuration(10_000),
  ),
  startTimeout: setting('BERTH_START_TIMEOUT', 'How long a sandbox may take to become ready before it is reported failed.', '90s', parseDuration(1000)),
  registry: setting(
    'BERTH_REGISTRY',
    'on: sandboxes pull from Berth\'s local registry of lesson images (their Docker Hub mirror), so no internet is needed. off: they pull from Docker Hub directly.',
    'on',
    parseOneOf('on', 'off'),
  ),
  registryPort: setting(
    'BERTH_REGISTRY_PORT',
    'Port of that registry on the sandbox network\'s gateway address (the pull-through cache, when on, takes the next port).',
    '5000',
    parseInteger(1, 65534),
  ),
  registryUpstream: setting(
    'BERTH_REGISTRY_UPSTREAM',
    'Pull-through cache for images outside the catalog, e.g. https://registry-1.docker.io (needs internet). Lesson images still come from the catalog. Empty: off.',
    '',
    parseUrlOrEmpty,
  ),
  registryCacheMax: setting(
    'BERTH_REGISTRY_CACHE_MAX',
    'Size the pull-through cache (BERTH_REGISTRY_UPSTREAM) may reach on the host; past it, it is emptied and fills again from the upstream (measured every BERTH_DISK_CHECK_INTERVAL).',
    '10g',
    parseBytes(1024 ** 2),
  ),
  sandboxEgress: setting(
    'BERTH_SANDBOX_EGRESS',
    'What sandboxes may reach on the network. off: the catalog registry only. registry: the registry and the pull-through cache, if on. open: the internet too. Never: each other, other services on the host, BERTH_BLOCKED_ADDRESSES.',
    'registry',
    parseOneOf('off', 'registry', 'open'),
  ),
  blockedAddresses: setting(
    'BERTH_BLOCKED_ADDRESSES',
    'Addresses no sandbox may reach in any egress mode: comma-separated IPs or CIDRs. Default: the cloud metadata services and the local network (private, shared, link-local, multicast and reserved IPv4 ranges). With egress open, outgoing mail (tcp/25) is refused too.',
    DEFAULT_BLOCKED_ADDRESSES.join(','),
    parseCidrList,
  ),
  sandboxNetworkRange: setting(
    'BERTH_SANDBOX_NETWORK_RANGE',
    `Addresses of the sandbox network on the host engine (IPv4 CIDR); each instance takes the first free /${SANDBOX_SUBNET_PREFIX} of it, whose gateway is the registry's address. Default: part of the benchmarking range (RFC 2544), outside Docker's default pools and common LAN ranges. Must not overlap BERTH_NESTED_ADDRESS_POOLS.`,
    '198.19.0.0/16',
    parseIpv4Range,
  ),
  nestedAddressPools: setting(
    'BERTH_NESTED_ADDRESS_POOLS',
    "Address pools of each sandbox's own engine for the learner's networks (daemon.json default-address-pools): comma-separated base CIDRs, each split into networks of :size. Default: Docker's own pools (172.17-31.x.x, then 192.168.x.x in /20), so addresses look as in tutorials, then 10.201.x.x in /24 past 30 networks. Must not overlap BERTH_SANDBOX_NETWORK_RANGE or 10.0.2.0/24 (the engine's own link). Applies to sandboxes (re)created after a server start.",
    '172.17.0.0/16,172.18.0.0/15:16,172.20.0.0/14:16,172.24.0.0/13:16,192.168.0.0/16:20,10.201.0.0/16:24',
    parseAddressPools,
  ),
  maxSandboxes: setting(
    'BERTH_MAX_SANDBOXES',
    'Sandboxes running at once; past it, learners wait in a first-come line that shows their place. auto: (host memory - 1 GiB) / BERTH_SANDBOX_MEMORY, at least 1.',
    'auto',
    parseAutoOr(parseInteger(1, 10_000)),
  ),
  warmPool: setting(
    'BERTH_WARM_POOL',
    'Sandboxes kept booted for new learners, so their prompt appears at once. auto: as many as arrived in the busiest minute of the last 10 (at least 2, or 4 when BERTH_MAX_SANDBOXES is 16 or more; at most BERTH_WARM_POOL_MAX), growing only while the host has memory for a full sandbox beside the reserve. A number: exactly that many. 0: off. The pool never takes a slot a waiting learner needs, and refills only when no learner\'s start is in flight.',
    'auto',
    parseAutoOr(parseInteger(0, 64)),
  ),
  warmPoolMax: setting('BERTH_WARM_POOL_MAX', 'Largest warm pool with BERTH_WARM_POOL=auto.', '8', parseInteger(1, 64)),
  detachedGrace: setting(
    'BERTH_DETACHED_GRACE',
    'While learners wait in line, a running sandbox whose page has been gone this long gives up its slot (stopped, data kept): the longest-gone first, only as many as the line needs. Long enough for a reload.',
    '15s',
    parseDuration(1000),
  ),
  sandboxMaxAge: setting(
    'BERTH_SANDBOX_MAX_AGE',
    'A running sandbox is stopped this long after it started, even in use (data kept; the learner starts it again).',
    '8h',
    parseDuration(60_000),
  ),
  sandboxMaxStoredAge: setting(
    'BERTH_SANDBOX_MAX_STORED_AGE',
    'A stopped sandbox and its data volume are deleted when its learner has not been seen for this long. Progress is kept.',
    '14d',
    parseDuration(60_000),
  ),
  maxConcurrentStarts: setting('BERTH_MAX_CONCURRENT_STARTS', 'Sandboxes created or started at the same time; others wait their turn.', '4', parseInteger(1, 64)),
  stoppedDiskBudget: setting(
    'BERTH_STOPPED_DISK_BUDGET',
    'Host disk that stopped sandboxes\' data may take together (e.g. 25% of the engine\'s disk, or 200g). Past it, the data of learners seen least recently is deleted first; their progress is kept.',
    '25%',
    parseDiskAmount,
  ),
  minFreeDisk: setting(
    'BERTH_MIN_FREE_DISK',
    'Free space the engine\'s disk keeps (e.g. 10% or 20g). Below it no new sandbox is created (learners with data still resume), so running ones keep room.',
    '10%',
    parseDiskAmount,
  ),
  diskCheckInterval: setting('BERTH_DISK_CHECK_INTERVAL', 'How often the engine\'s disk and each sandbox\'s data are measured (for the two settings above).', '5m', parseDuration(1000)),
  resetInterval: setting(
    'BERTH_RESET_INTERVAL',
    'A learner may reset their sandbox (destroy it and start a fresh one) at most this often; requests in between are refused with the wait.',
    '30s',
    parseDuration(0),
  ),
  sandboxesPerAddress: setting(
    'BERTH_SANDBOXES_PER_ADDRESS',
    'Sandboxes running or waiting in line at once for learners at one client address. Raise it to the class size for a classroom behind one NAT address.',
    '10',
    parseInteger(1, 100_000),
  ),
  maxConcurrentChecks: setting(
    'BERTH_MAX_CONCURRENT_CHECKS',
    'Exercise check runs (one exec each, in a learner\'s sandbox) at the same time over all learners; others wait their turn.',
    '8',
    parseInteger(1, 256),
  ),
  scrollbackBytes: setting('BERTH_SCROLLBACK_BYTES', 'Terminal output kept per sandbox to replay on reconnect.', '256k', parseBytes(1024)),
  recordingMax: setting(
    'BERTH_RECORDING_MAX',
    'Classrooms: largest terminal recording per learner per lesson (output only, asciicast v2). At the limit the recording ends with a marker saying so; the learner\'s work goes on unrecorded.',
    '2m',
    parseBytes(4096),
  ),
  maxTerminalsPerLearner: setting('BERTH_MAX_TERMINALS_PER_LEARNER', 'Open terminal connections (tabs) allowed per learner.', '8', parseInteger(1, 100)),
  trustedProxies: setting(
    'BERTH_TRUSTED_PROXIES',
    'Reverse proxies in front of Berth: comma-separated IPs or CIDRs, e.g. 127.0.0.1 for a proxy on this host. Only when the socket peer is one of them is X-Forwarded-For read, and the client is its right-most entry that is not one of them. Empty: the socket\'s address, always. (Replaces BERTH_TRUST_PROXY.)',
    '',
    parseCidrList,
  ),
  rateSessions: setting(
    'BERTH_RATE_SESSIONS',
    'New learners (cookies issued by /api/session) per client address, e.g. 120/min: a whole class behind one school NAT may arrive at once. off: no limit.',
    '120/min',
    parseRate,
  ),
  rateSandboxes: setting(
    'BERTH_RATE_SANDBOXES',
    'Sandboxes created (a learner\'s first terminal) per client address. off: no limit.',
    '120/min',
    parseRate,
  ),
  rateApi: setting('BERTH_RATE_API', 'Requests to /api/* and terminal connections per client address. off: no limit.', '1200/min', parseRate),
  headersTimeout: setting(
    'BERTH_HEADERS_TIMEOUT',
    'A connection must send its request headers within this time (cuts off slow-header attacks on the HTTP and terminal endpoints).',
    '10s',
    parseDuration(1000),
  ),
  metricsToken: setting(
    'BERTH_METRICS_TOKEN',
    'Bearer token that lets anyone read /metrics (Prometheus). Empty: /metrics answers only requests from loopback that carry no X-Forwarded-For or Forwarded header.',
    '',
    parseString,
  ),
  instructorIdle: setting(
    'BERTH_INSTRUCTOR_IDLE',
    'An instructor session (classrooms) with no request for this long ends; the instructor logs in again.',
    '12h',
    parseDuration(60_000),
  ),
  instructorSessionMax: setting('BERTH_INSTRUCTOR_SESSION_MAX', 'An instructor session ends this long after login, however active.', '7d', parseDuration(60_000)),
  logLevel: setting('BERTH_LOG_LEVEL', 'Log level: fatal, error, warn, info, debug or trace.', 'info', parseOneOf('fatal', 'error', 'warn', 'info', 'debug', 'trace')),
} satisfies Record<string, Setting<unknown>>;

type Settings = typeof settings;
export type Config = { [K in keyof Settings]: Settings[K] extends Setting<infer T> ? T : never };

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Reads every setting from `env`; throws ConfigError naming each bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [key, s] of Object.entries(settings) as [string, Setting<unknown>][]) {
    const raw = env[s.env] ?? s.default;
    try {
      out[key] = s.parse(raw);
    } catch (err) {
      problems.push(`${s.env}: ${(err as Error).message}`);
    }
  }
  // Retired: "on" meant "believe X-Forwarded-For from any peer". Refuse it rather than guess the proxy.
  const legacy = env.BERTH_TRUST_PROXY;
  if (legacy !== undefined && legacy !== 'off') {
    problems.push(`BERTH_TRUST_PROXY: replaced by BERTH_TRUSTED_PROXIES; remove it and list your reverse proxy's addresses instead (e.g. BERTH_TRUSTED_PROXIES=127.0.0.1 for a proxy on this host)`);
  }
  if (problems.length) throw new ConfigError(`invalid configuration:\n  ${problems.join('\n  ')}`);
  const config = out as Config;
  problems.push(...addressConflicts(config));
  if (problems.length) throw new ConfigError(`invalid configuration:\n  ${problems.join('\n  ')}`);
  if (config.publicUrl === '') config.publicUrl = `http://localhost:${config.port}`;
  return config;
}

/**
 * The sandbox network and the nested engines' pools must never meet: a learner's
 * network covering the sandbox gateway cuts that sandbox off from the registry.
 */
function addressConflicts(config: Config): string[] {
  const problems: string[] = [];
  for (const pool of config.nestedAddressPools) {
    if (overlaps(pool.base, config.sandboxNetworkRange)) {
      problems.push(`BERTH_NESTED_ADDRESS_POOLS: ${pool.base} overlaps BERTH_SANDBOX_NETWORK_RANGE (${config.sandboxNetworkRange}); a learner's network there would cut the sandbox off from the image registry`);
    }
    if (overlaps(pool.base, SLIRP_SUBNET)) problems.push(`BERTH_NESTED_ADDRESS_POOLS: ${pool.base} overlaps ${SLIRP_SUBNET}, the nested engine's own link to the outside`);
  }
  if (overlaps(config.sandboxNetworkRange, SLIRP_SUBNET)) problems.push(`BERTH_SANDBOX_NETWORK_RANGE: ${config.sandboxNetworkRange} overlaps ${SLIRP_SUBNET}, the nested engine's own link to the outside`);
  return problems;
}

/** Origins allowed to open a terminal: the public URL plus local names on our port. */
export function allowedOrigins(config: Config, listeningPort: number = config.port): Set<string> {
  return new Set([
    config.publicUrl,
    `http://localhost:${listeningPort}`,
    `http://127.0.0.1:${listeningPort}`,
    ...config.allowedOrigins,
  ]);
}

/** Host header values the server answers to: the hosts (host[:port]) of the allowed origins. */
export function allowedHosts(origins: Iterable<string>): Set<string> {
  return new Set([...origins].map((o) => new URL(o).host));
}

const isLoopbackHost = (host: string) => host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);

/** Combinations that work but are risky: logged as warnings at start. */
export function configWarnings(config: Config): string[] {
  const warnings: string[] = [];
  const exposed = !isLoopbackHost(config.host);
  if (config.trustedProxies.length && exposed) {
    warnings.push(
      `BERTH_TRUSTED_PROXIES is set and BERTH_HOST=${config.host} is reachable from other machines: anyone who can connect from a trusted address (${config.trustedProxies.join(', ')}) chooses their own client address. Listen on 127.0.0.1 behind a proxy on this host, or firewall the port to the proxy.`,
    );
  }
  if (config.trustedProxies.some((c) => c.endsWith('/0'))) {
    warnings.push('BERTH_TRUSTED_PROXIES contains a /0: every peer is trusted, so every client chooses its own address and escapes the per-address limits.');
  }
  if (exposed && !config.metricsToken) {
    warnings.push(
      `BERTH_HOST=${config.host} without BERTH_METRICS_TOKEN: /metrics is served to loopback requests without forwarding headers; a proxy or tunnel on this host that forwards without X-Forwarded-For makes it public. Set a token.`,
    );
  }
  return warnings;
}

/** The settings table as Markdown, for the README (`node scripts/config-table.ts`). */
export function settingsMarkdown(): string {
  const rows = Object.values(settings).map((s) => `| \`${s.env}\` | \`${s.default || '(empty)'}\` | ${s.description} |`);
  return ['| Variable | Default | Meaning |', '|---|---|---|', ...rows].join('\n');
}
