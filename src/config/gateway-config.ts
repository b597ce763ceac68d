// Turns validated settings into what the gateway runs with: parsed and checked DSNs, durations in
// milliseconds, secrets as they are. Each DSN is checked for its role (which schemes make sense).
import { ConfigError, collect, throwProblems } from './errors.js'
import { DsnError, parseDsn, type Dsn } from './dsn.js'
import { settingSchema, type SettingName, type Settings } from './schema.js'
import { parseKeyList } from '../publish/keys.js'
import { NetworkListError, parseNetworks, type NetworkList } from '../access/networks.js'
import { OriginListError, createOriginPolicy, originPolicyFromSetting, type OriginPolicy } from '../access/origin.js'
import { parseBrokerDsn, type BrokerTarget } from '../broker/redis-dsn.js'
import { listenerTls, type ListenerTls } from '../tls/context-options.js'
import { maskQuerySecrets } from './mask.js'

export interface ListenAddress {
  /** False when the SERVER DSN has an empty host: Oro's way of turning the server off. */
  enabled: boolean
  host: string
  port: number
  /** TLS (wss://, https://) from the SERVER DSN's context_options[local_cert]; null = plain TCP. */
  tls: ListenerTls | null
}

export interface GatewayConfig {
  server: ListenAddress
  frontend: Dsn
  backend: Dsn
  secret: string | undefined
  /** Oro's database: ORO_DB_DSN when set (as Oro's Doctrine connection takes it), else ORO_DB_URL. */
  databaseUrl: string | undefined
  /** The variable databaseUrl comes from (ORO_DB_URL when neither is set), for messages. */
  databaseSetting: DatabaseSetting
  shutdownTimeoutMs: number
  drainDelayMs: number
  websocket: WebSocketLimits
  publish: PublishSettings
  access: AccessSettings
  broker: BrokerSettings
  tickets: { lifetimeSeconds: number, skewSeconds: number }
  auth: AuthSettings
  metrics: MetricsSettings
  status: StatusSettings
}

export type DatabaseSetting = 'ORO_DB_DSN' | 'ORO_DB_URL'

export interface StatusSettings {
  /** ORO_WEBSOCKET_STATUS=on: GET /status and /status.json (on the metrics listener if there is one). */
  enabled: boolean
  /** ORO_WEBSOCKET_STATUS_KEY, or null: then only the metrics listener serves the page. */
  key: string | null
}

export interface MetricsSettings {
  /** A separate listener for GET /metrics (and /status), or null to serve them with the WebSockets. */
  listen: { host: string, port: number, tls: ListenerTls | null } | null
}

export interface BrokerSettings {
  /** memory (one node) or the Redis that carries events between nodes. */
  target: BrokerTarget
  /** Prefix of Redis channels and keys. */
  redisPrefix: string
  /** Bound of the hub's queue in bytes (ORO_WEBSOCKET_HUB_QUEUE_BYTES). */
  hubQueueBytes: number
}

export interface AccessSettings {
  origins: OriginPolicy
  backendNetworks: NetworkList
  trustedProxies: NetworkList
}

export interface PublishSettings {
  /** ORO_WEBSOCKET_PUBLISH_KEYS, or the development key alone (devKey). */
  keys: string[]
  /** The key `serve --env=dev` made at start because none was set (loadConfig's devPublishKey), or null. */
  devKey: string | null
  maxBytes: number
  maxBatch: number
  ratePerSecond: number
  /** A separate listener for POST /publish, or null to serve it with the WebSockets. */
  listen: { host: string, port: number, tls: ListenerTls | null } | null
}

export interface AuthSettings {
  /** Oro's user table (ORO_WEBSOCKET_USER_TABLE), maybe schema-qualified. */
  userTable: string
  /** Digest worker threads (ORO_WEBSOCKET_DIGEST_WORKERS); undefined: one per CPU, as digest-pool.ts decides. */
  digestWorkers: number | undefined
  /** Session resumption cookies' lifetime (ORO_WEBSOCKET_RESUME_TTL); 0 = off. */
  resumeTtlSeconds: number
  resumeVerifyTimeoutMs: number
  /** Admission (ORO_WEBSOCKET_AUTH_QUEUE, _AUTH_MAX_WAIT, _AUTH_PENDING_PER_CLIENT, _AUTH_FAILURES). */
  queue: number
  maxWaitSeconds: number
  pendingPerClient: number
  failuresPerMinute: number
  /** Sessions one ticket may open (ORO_WEBSOCKET_SESSIONS_PER_TICKET); 0 = no limit. */
  sessionsPerTicket: number
  /** How often Oro's allowed origins are read again from its database. */
  originsRefreshMs: number
}

export interface WebSocketLimits {
  /** Largest message of a browser session. */
  maxFrameBytes: number
  /** Largest message of a backend session (one that may publish). */
  backendMaxFrameBytes: number
  maxTopicLength: number
  maxSubscriptions: number
  maxBufferedBytes: number
  pingIntervalMs: number
  keepaliveIntervalMs: number
  /** CURIE prefixes one session may declare. */
  maxPrefixes: number
  /** WAMP PUBLISHes per second per backend session (ORO_WEBSOCKET_PUBLISH_RATE_LIMIT); 0 = no limit. */
  publishRate: number
  maxPendingPublishes: number
  /** Distinct topics this node's sessions may hold together. */
  maxTopics: number
  maxSessionsPerUser: number
  maxSubscriptionsPerUser: number
}

const ROLE_SCHEMES: Record<string, readonly string[]> = {
  ORO_WEBSOCKET_SERVER_DSN: ['tcp', 'ssl', 'tls'],
  ORO_WEBSOCKET_FRONTEND_DSN: ['tcp', 'ws', 'wss', 'http', 'https'],
  ORO_WEBSOCKET_BACKEND_DSN: ['tcp', 'ssl', 'tls', 'tlsv1.0', 'tlsv1.1', 'tlsv1.2', 'tlsv1.3', 'sslv3']
}

/**
 * Every problem is collected (a fallback value stands in for a bad one so the next checks run)
 * and thrown together at the end: the operator fixes them in one round, not one per restart.
 */
export function resolveGatewayConfig (
  settings: Settings,
  describe: (name: SettingName) => string,
  listen: { host?: string, port?: string } = {},
  problems: ConfigError[] = []
): GatewayConfig {
  const before = problems.length
  const gateway = gatherGatewayConfig(settings, describe, listen, problems)
  if (problems.length > before) throwProblems(problems)
  return gateway
}

type DsnSetting = 'ORO_WEBSOCKET_SERVER_DSN' | 'ORO_WEBSOCKET_FRONTEND_DSN' | 'ORO_WEBSOCKET_BACKEND_DSN'

/** The same, adding each problem to `problems` (a fallback stands in) instead of throwing. */
export function gatherGatewayConfig (settings: Settings, describe: (name: SettingName) => string, listen: { host?: string, port?: string }, problems: ConfigError[]): GatewayConfig {
  const fallback = (name: DsnSetting): Dsn => parseDsn(String(settingSchema(name).default))
  const dsn = (name: DsnSetting): Dsn => collect(problems, () => roleDsn(name, settings[name], describe(name)), fallback(name))

  // An empty SERVER DSN is Oro's stock .env-app: WebSocket off, like an empty host (`//:8080`).
  const serverDsn = settings.ORO_WEBSOCKET_SERVER_DSN.trim() === '' ? { ...fallback('ORO_WEBSOCKET_SERVER_DSN'), host: '' } : dsn('ORO_WEBSOCKET_SERVER_DSN')
  const server: ListenAddress = {
    enabled: serverDsn.host !== '',
    host: serverDsn.host === '*' ? '0.0.0.0' : serverDsn.host,
    port: serverDsn.port,
    tls: collect(problems, () => listenerTls(serverDsn, describe('ORO_WEBSOCKET_SERVER_DSN')), null)
  }
  if (listen.host !== undefined) {
    if (listen.host === '' || /[\s/]/.test(listen.host)) {
      problems.push(new ConfigError('--host', `= "${listen.host}" is not a host name or address`, '--host 127.0.0.1'))
    } else {
      server.host = listen.host
      server.enabled = true
    }
  }
  if (listen.port !== undefined) {
    const port = Number(listen.port)
    if (!/^\d+$/.test(listen.port) || port < 1 || port > 65535) {
      problems.push(new ConfigError('--port', `= "${listen.port}" is not a port number 1-65535`, '--port 8080'))
    } else {
      server.port = port
    }
  }

  // With the server off, empty FRONTEND and BACKEND DSNs (the same stock .env-app) are no problem.
  const unused = (name: DsnSetting): boolean => !server.enabled && settings[name].trim() === ''
  const backend = unused('ORO_WEBSOCKET_BACKEND_DSN') ? fallback('ORO_WEBSOCKET_BACKEND_DSN') : dsn('ORO_WEBSOCKET_BACKEND_DSN')
  if (backend.host === '*' || backend.host === '') backend.host = '127.0.0.1'

  const frontend = unused('ORO_WEBSOCKET_FRONTEND_DSN') ? fallback('ORO_WEBSOCKET_FRONTEND_DSN') : dsn('ORO_WEBSOCKET_FRONTEND_DSN')
  const frontendHost = frontend.host
  const fallbackOrigins = (): OriginPolicy => originPolicyFromSetting(undefined, 'localhost')
  return {
    server,
    frontend,
    backend,
    secret: emptyToUndefined(settings.ORO_SECRET),
    databaseUrl: emptyToUndefined(settings.ORO_DB_DSN) ?? emptyToUndefined(settings.ORO_DB_URL),
    databaseSetting: emptyToUndefined(settings.ORO_DB_DSN) !== undefined ? 'ORO_DB_DSN' : 'ORO_DB_URL',
    shutdownTimeoutMs: settings.ORO_WEBSOCKET_SHUTDOWN_TIMEOUT * 1000,
    drainDelayMs: settings.ORO_WEBSOCKET_DRAIN_DELAY * 1000,
    websocket: {
      maxFrameBytes: settings.ORO_WEBSOCKET_MAX_FRAME_BYTES,
      backendMaxFrameBytes: settings.ORO_WEBSOCKET_BACKEND_MAX_FRAME_BYTES,
      maxTopicLength: settings.ORO_WEBSOCKET_MAX_TOPIC_LENGTH,
      maxSubscriptions: settings.ORO_WEBSOCKET_MAX_SUBSCRIPTIONS,
      maxBufferedBytes: settings.ORO_WEBSOCKET_MAX_BUFFERED_BYTES,
      pingIntervalMs: settings.ORO_WEBSOCKET_PING_INTERVAL * 1000,
      keepaliveIntervalMs: settings.ORO_WEBSOCKET_KEEPALIVE_INTERVAL * 1000,
      maxPrefixes: settings.ORO_WEBSOCKET_MAX_PREFIXES,
      publishRate: settings.ORO_WEBSOCKET_PUBLISH_RATE_LIMIT,
      maxPendingPublishes: settings.ORO_WEBSOCKET_MAX_PENDING_PUBLISHES,
      maxTopics: settings.ORO_WEBSOCKET_MAX_TOPICS,
      maxSessionsPerUser: settings.ORO_WEBSOCKET_MAX_SESSIONS_PER_USER,
      maxSubscriptionsPerUser: settings.ORO_WEBSOCKET_MAX_SUBSCRIPTIONS_PER_USER
    },
    access: {
      origins: collect(problems, () => originPolicy(settings.ORO_WEBSOCKET_ALLOWED_ORIGINS, frontendHost, describe('ORO_WEBSOCKET_ALLOWED_ORIGINS')), fallbackOrigins()),
      backendNetworks: collect(problems, () => networks(settings.ORO_WEBSOCKET_BACKEND_NETWORKS, describe('ORO_WEBSOCKET_BACKEND_NETWORKS')), parseNetworks('127.0.0.0/8')),
      trustedProxies: collect(problems, () => networks(settings.ORO_WEBSOCKET_TRUSTED_PROXIES, describe('ORO_WEBSOCKET_TRUSTED_PROXIES')), parseNetworks('127.0.0.0/8'))
    },
    tickets: { lifetimeSeconds: settings.ORO_WEBSOCKET_TICKET_LIFETIME, skewSeconds: settings.ORO_WEBSOCKET_TICKET_SKEW },
    auth: {
      userTable: settings.ORO_WEBSOCKET_USER_TABLE,
      digestWorkers: settings.ORO_WEBSOCKET_DIGEST_WORKERS,
      resumeTtlSeconds: settings.ORO_WEBSOCKET_RESUME_TTL,
      resumeVerifyTimeoutMs: settings.ORO_WEBSOCKET_RESUME_VERIFY_TIMEOUT * 1000,
      queue: settings.ORO_WEBSOCKET_AUTH_QUEUE,
      maxWaitSeconds: settings.ORO_WEBSOCKET_AUTH_MAX_WAIT,
      pendingPerClient: settings.ORO_WEBSOCKET_AUTH_PENDING_PER_CLIENT,
      failuresPerMinute: settings.ORO_WEBSOCKET_AUTH_FAILURES,
      sessionsPerTicket: settings.ORO_WEBSOCKET_SESSIONS_PER_TICKET,
      originsRefreshMs: settings.ORO_WEBSOCKET_ORIGINS_REFRESH * 1000
    },
    publish: {
      keys: parseKeyList(settings.ORO_WEBSOCKET_PUBLISH_KEYS),
      devKey: null,
      // What a backend may publish over WAMP, it may publish over HTTP (issue 16 §3).
      maxBytes: settings.ORO_WEBSOCKET_PUBLISH_MAX_BYTES ?? settings.ORO_WEBSOCKET_BACKEND_MAX_FRAME_BYTES,
      maxBatch: settings.ORO_WEBSOCKET_PUBLISH_MAX_BATCH,
      ratePerSecond: settings.ORO_WEBSOCKET_PUBLISH_RATE_LIMIT,
      listen: collect(problems, () => publishListen(settings.ORO_WEBSOCKET_PUBLISH_LISTEN, describe('ORO_WEBSOCKET_PUBLISH_LISTEN')), null)
    },
    metrics: {
      listen: collect(problems, () => listenAddress(settings.ORO_WEBSOCKET_METRICS_LISTEN, describe('ORO_WEBSOCKET_METRICS_LISTEN'), 'ORO_WEBSOCKET_METRICS_LISTEN=127.0.0.1:9464'), null)
    },
    status: collect(problems, () => statusSettings(settings, describe), { enabled: false, key: null }),
    broker: {
      target: collect<BrokerTarget>(problems, () => parseBrokerDsn(settings.ORO_WEBSOCKET_BROKER_DSN, describe('ORO_WEBSOCKET_BROKER_DSN')), { kind: 'memory' }),
      redisPrefix: settings.ORO_WEBSOCKET_REDIS_PREFIX,
      hubQueueBytes: settings.ORO_WEBSOCKET_HUB_QUEUE_BYTES
    }
  }
}

function roleDsn (name: DsnSetting, value: string, setting: string): Dsn {
  const example = `${name}=${settingSchema(name).example}`
  let parsed: Dsn
  try {
    parsed = parseDsn(value)
  } catch (err) {
    if (err instanceof DsnError) throw new ConfigError(setting, `= "${maskQuerySecrets(value)}" ${err.message}`, example)
    throw err
  }
  const schemes = ROLE_SCHEMES[name] as readonly string[]
  if (!schemes.includes(parsed.scheme)) {
    throw new ConfigError(setting, `= "${maskQuerySecrets(value)}" has scheme "${parsed.scheme}", expected ${schemes.join(', ')}`, example)
  }
  return parsed
}

function networks (value: string, setting: string): NetworkList {
  try {
    return parseNetworks(value)
  } catch (err) {
    if (err instanceof NetworkListError) throw new ConfigError(setting, `= "${value}": ${err.message}`, '127.0.0.0/8,::1/128')
    throw err
  }
}

function originPolicy (value: string | undefined, frontendHost: string, setting: string): OriginPolicy {
  try {
    return originPolicyFromSetting(value, frontendHost)
  } catch (err) {
    if (err instanceof OriginListError) throw new ConfigError(setting, `= "${value ?? ''}": ${err.message}`, 'shop.example.com,https://admin.example.com:8443')
    throw err
  }
}

function publishListen (value: string | undefined, setting: string): { host: string, port: number, tls: ListenerTls | null } | null {
  return listenAddress(value, setting, 'ORO_WEBSOCKET_PUBLISH_LISTEN=127.0.0.1:8081')
}

/**
 * A separate listener's address, `host:port` (or `//host:port`), with optional TLS in the SERVER
 * DSN's syntax: `host:port?context_options[local_cert]=...` (see src/tls/context-options.ts).
 */
export function listenAddress (value: string | undefined, setting: string, example: string): { host: string, port: number, tls: ListenerTls | null } | null {
  if (value === undefined || value === '') return null
  const shown = maskQuerySecrets(value)
  let dsn: Dsn
  try {
    dsn = parseDsn(value.includes('//') ? value : '//' + value)
  } catch (err) {
    if (err instanceof DsnError) throw new ConfigError(setting, `= "${shown}" ${err.message}`, example)
    throw err
  }
  if (dsn.host === '' || !/:\d+$/.test((value.split('?')[0] as string).replace(/\/$/, ''))) {
    throw new ConfigError(setting, `= "${shown}" needs a host and a port`, example)
  }
  if (!['tcp', 'ssl', 'tls'].includes(dsn.scheme)) throw new ConfigError(setting, `= "${shown}" has scheme "${dsn.scheme}", expected tcp, ssl or tls`, example)
  return { host: dsn.host, port: dsn.port, tls: listenerTls(dsn, setting) }
}

function statusSettings (settings: Settings, describe: (name: SettingName) => string): StatusSettings {
  const key = emptyToUndefined(settings.ORO_WEBSOCKET_STATUS_KEY) ?? null
  const enabled = settings.ORO_WEBSOCKET_STATUS === 'on'
  // On the WebSocket listener (the public one, behind the site's proxy) the page is never open.
  if (enabled && key === null && emptyToUndefined(settings.ORO_WEBSOCKET_METRICS_LISTEN) === undefined) {
    throw new ConfigError(describe('ORO_WEBSOCKET_STATUS'), '= "on" needs ORO_WEBSOCKET_STATUS_KEY (or ORO_WEBSOCKET_METRICS_LISTEN, to serve it only on that address)', 'ORO_WEBSOCKET_STATUS_KEY=$(openssl rand -base64 24)')
  }
  return { enabled, key }
}

function emptyToUndefined (value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value
}
