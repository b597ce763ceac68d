// The one JSON schema of the gateway's settings. loadConfig validates it once (env-schema), the
// `config` command prints it, the README's configuration table is checked against it, and the
// TypeScript type of the settings is derived from it (no hand-written copy).

interface SettingSchema {
  readonly type: 'string' | 'integer' | 'boolean'
  readonly default?: string | number | boolean
  readonly minimum?: number
  readonly maximum?: number
  readonly enum?: readonly string[]
  /** One line for the README and the `config` command. */
  readonly description: string
  /** A right value, shown in error messages. */
  readonly example: string
  /** Masked by `config` and never logged. */
  readonly secret?: boolean
}

export const configSchema = {
  type: 'object',
  properties: {
    ORO_WEBSOCKET_SERVER_DSN: {
      type: 'string',
      default: '//0.0.0.0:8080',
      description: 'Address the gateway listens on. An empty host disables the server. ?context_options[local_cert]=...&[local_pk]=...&[passphrase]=... serve wss:// and https:// (see TLS).',
      example: '//0.0.0.0:8080'
    },
    ORO_WEBSOCKET_FRONTEND_DSN: {
      type: 'string',
      default: '//*:8080/ws',
      description: 'Address browsers use; host * means the host of the page. Its path is also accepted for upgrades.',
      example: '//*:443/ws'
    },
    ORO_WEBSOCKET_BACKEND_DSN: {
      type: 'string',
      default: 'tcp://127.0.0.1:8080',
      description: "Address Oro's PHP backend connects to (scheme tcp, ssl or tls; host * = 127.0.0.1).",
      example: 'tcp://127.0.0.1:8080'
    },
    ORO_SECRET: {
      type: 'string',
      description: "Oro's application secret; signs and verifies the tickets of WebSocket clients.",
      example: 'ThisTokenIsNotSoSecretChangeIt',
      secret: true
    },
    ORO_DB_URL: {
      type: 'string',
      description: "Oro's database (Doctrine style), used to verify the tickets of logged-in users and read the application URL; ORO_DB_DSN wins when set.",
      example: 'postgres://oro:pass@127.0.0.1:5432/oro_db?serverVersion=13.7',
      secret: true
    },
    ORO_DB_DSN: {
      type: 'string',
      description: "Oro's Doctrine connection (database_dsn; Oro's .env-app sets it to ${ORO_DB_URL}). Set, it is used instead of ORO_DB_URL, as by Oro: installs that set only ORO_DB_DSN (Oro's docker demo) work as they are.",
      example: 'postgres://oro:pass@postgres:5432/oro_db?serverVersion=16',
      secret: true
    },
    ORO_WEBSOCKET_USER_TABLE: {
      type: 'string',
      default: 'oro_user',
      description: "Oro's user table in its database (table or schema.table), where user tickets find their user.",
      example: 'oro_user'
    },
    ORO_WEBSOCKET_AUTH_QUEUE: {
      type: 'integer',
      default: 20000,
      minimum: 1,
      maximum: 1000000,
      description: 'Most upgrades waiting for their ticket to be verified or being verified, all networks together (each holds its HTTP upgrade); more get 503 GW_ERR_AUTH_BUSY with Retry-After.',
      example: '20000'
    },
    ORO_WEBSOCKET_AUTH_MAX_WAIT: {
      type: 'integer',
      default: 60,
      minimum: 1,
      maximum: 3600,
      description: 'Seconds an upgrade may expect to wait for its ticket verification (from the rate measured); an upgrade that would wait longer gets 503 GW_ERR_AUTH_WAIT_TOO_LONG with Retry-After.',
      example: '60'
    },
    ORO_WEBSOCKET_AUTH_PENDING_PER_CLIENT: {
      type: 'integer',
      default: 16,
      minimum: 1,
      maximum: 1000000,
      description: 'Upgrades one suspect (network, user) may have waiting (a network is an IPv4 /24 or IPv6 /64; suspect = it sent failed tickets); more get 429. Networks without failed tickets are never held to it.',
      example: '16'
    },
    ORO_WEBSOCKET_AUTH_FAILURES: {
      type: 'integer',
      default: 30,
      minimum: 1,
      maximum: 1000000,
      description: 'Failed tickets per minute one user from one client network (IPv4 /24, IPv6 /64) may send; past it that pair gets 429 until it is under again (the network\'s other users still get in).',
      example: '30'
    },
    ORO_WEBSOCKET_SESSIONS_PER_TICKET: {
      type: 'integer',
      default: 2,
      minimum: 0,
      maximum: 1000000,
      description: 'Sessions one ticket may open while it is valid (Oro fetches a ticket per connection); more get 429 GW_ERR_TICKET_REUSED; 0 = no limit. Backend sessions are not counted.',
      example: '2'
    },
    ORO_WEBSOCKET_RESUME_VERIFY_TIMEOUT: {
      type: 'integer',
      default: 30,
      minimum: 1,
      maximum: 300,
      description: 'Seconds a session resumed by its cookie may stay open before its ticket\'s digest has been checked; then it is dropped (no close frame, so the page reconnects). At ~500 digests a second per two cores, 30 s brings back ~15,000 pages after a restart.',
      example: '30'
    },
    ORO_WEBSOCKET_ALLOWED_ORIGINS: {
      type: 'string',
      description: 'Comma-separated hosts or origins allowed to connect (* = any), besides localhost and 127.0.0.1 (always allowed, as by Oro); starting with + they are added to the default list instead. Default: localhost, 127.0.0.1, the FRONTEND DSN host and the application and website URLs in Oro\'s configuration (its database).',
      example: 'shop.example.com,https://admin.example.com:8443'
    },
    ORO_WEBSOCKET_ORIGINS_REFRESH: {
      type: 'integer',
      default: 60,
      minimum: 0,
      maximum: 86400,
      description: 'Seconds between reads of the application and website URLs in Oro\'s configuration (allowed origins); 0 = at start only. On Oro 6.0.10+ / 6.1.7+ / 7.x a save of System Configuration is also applied within a second (oro_sync_websocket_server_state).',
      example: '60'
    },
    ORO_WEBSOCKET_BACKEND_NETWORKS: {
      type: 'string',
      default: '127.0.0.0/8,::1/128',
      description: 'CIDR list: sessions with a valid ticket from these addresses may publish: direct, or through a trusted proxy that forwards only such addresses.',
      example: '127.0.0.0/8,::1/128,10.0.5.0/24'
    },
    ORO_WEBSOCKET_TRUSTED_PROXIES: {
      type: 'string',
      default: '127.0.0.0/8,::1/128',
      description: "CIDR list of proxies whose X-Forwarded-For / X-Real-IP give the client's address (logs, limits, backend publishers).",
      example: '127.0.0.1/32'
    },
    ORO_WEBSOCKET_TICKET_LIFETIME: {
      type: 'integer',
      default: 300,
      minimum: 1,
      maximum: 86400,
      description: 'Seconds a ticket stays valid after it was created (Oro: 300).',
      example: '300'
    },
    ORO_WEBSOCKET_TICKET_SKEW: {
      type: 'integer',
      default: 30,
      minimum: 0,
      maximum: 3600,
      description: 'Seconds a ticket may be dated in the future (clock skew between Oro and the gateway).',
      example: '30'
    },
    ORO_WEBSOCKET_DIGEST_WORKERS: {
      type: 'integer',
      minimum: 0,
      maximum: 64,
      description: 'Worker threads computing ticket digests (0 = on the event loop). Default: one per core on Linux (at a lower priority than the event loop, at most 8), else one per core minus one (at most 4).',
      example: '2'
    },
    ORO_WEBSOCKET_RESUME_TTL: {
      type: 'integer',
      default: 43200,
      minimum: 0,
      maximum: 604800,
      description: 'Seconds a session cookie set with the 101 lets the same browser reconnect (same user, network and password) after one HMAC instead of a ticket digest, the digest checked afterwards; 0 = no cookie. See docs/auth.md.',
      example: '43200'
    },
    ORO_WEBSOCKET_TOPICS: {
      type: 'string',
      description: "A YAML or JSON file of topic rules (or an Oro websocket_routing.yml) added to Oro's own; see Topics.",
      example: 'config/websocket-topics.yml'
    },
    ORO_WEBSOCKET_MAX_FRAME_BYTES: {
      type: 'integer',
      default: 65536,
      minimum: 1024,
      maximum: 16777216,
      description: 'Largest message a browser session may send; a bigger one closes the session with 1009 (logged at error).',
      example: '65536'
    },
    ORO_WEBSOCKET_BACKEND_MAX_FRAME_BYTES: {
      type: 'integer',
      default: 16777216,
      minimum: 1024,
      maximum: 268435456,
      description: "Largest message a backend session (ORO_WEBSOCKET_BACKEND_NETWORKS) may send: Oro's PHP backend publishes mass updates of 100 KB and more and never reads, so a close would lose its next publishes too. A bigger one closes with 1009 (logged at error).",
      example: '16777216'
    },
    ORO_WEBSOCKET_MAX_TOPIC_LENGTH: {
      type: 'integer',
      default: 512,
      minimum: 16,
      maximum: 65536,
      description: 'Longest topic URI a session may subscribe to; a longer SUBSCRIBE is refused (the session stays open).',
      example: '512'
    },
    ORO_WEBSOCKET_MAX_SUBSCRIPTIONS: {
      type: 'integer',
      default: 256,
      minimum: 1,
      maximum: 100000,
      description: 'Most topics one session may subscribe to; SUBSCRIBEs past it are refused (the session stays open).',
      example: '256'
    },
    ORO_WEBSOCKET_MAX_SUBSCRIPTIONS_PER_USER: {
      type: 'integer',
      default: 2000,
      minimum: 1,
      maximum: 10000000,
      description: 'Most subscriptions one logged-in user may hold over all its sessions on a node; SUBSCRIBEs past it are refused (the session stays open).',
      example: '2000'
    },
    ORO_WEBSOCKET_MAX_SESSIONS_PER_USER: {
      type: 'integer',
      default: 200,
      minimum: 1,
      maximum: 10000000,
      description: 'Most browser sessions (pages) one logged-in user may have open on a node; more get 429 GW_ERR_USER_SESSIONS before the upgrade. Backend sessions are not counted.',
      example: '200'
    },
    ORO_WEBSOCKET_MAX_TOPICS: {
      type: 'integer',
      default: 200000,
      minimum: 1,
      maximum: 100000000,
      description: 'Most distinct topics (Redis channels) a node holds for its sessions; a SUBSCRIBE that would add one more is refused (the session stays open).',
      example: '200000'
    },
    ORO_WEBSOCKET_MAX_PREFIXES: {
      type: 'integer',
      default: 32,
      minimum: 0,
      maximum: 10000,
      description: 'Most CURIE prefixes (WAMP PREFIX) one session may declare; one more, or a prefix or URI over ORO_WEBSOCKET_MAX_TOPIC_LENGTH, closes it with 1007.',
      example: '32'
    },
    ORO_WEBSOCKET_MAX_BUFFERED_BYTES: {
      type: 'integer',
      default: 1048576,
      minimum: 1024,
      maximum: 1073741824,
      description: 'Unsent bytes a session may leave from earlier event-loop turns beyond its largest unsent message (so an event larger than this still reaches a slow link); a slower client is dropped (TCP closed, so it reconnects).',
      example: '1048576'
    },
    ORO_WEBSOCKET_MAX_PENDING_PUBLISHES: {
      type: 'integer',
      default: 100,
      minimum: 1,
      maximum: 1000000,
      description: 'WAMP PUBLISHes of one backend session not yet taken by the broker; past it the session is not read until half are (nothing is dropped).',
      example: '100'
    },
    ORO_WEBSOCKET_PING_INTERVAL: {
      type: 'integer',
      default: 30,
      minimum: 0,
      maximum: 86400,
      description: 'Seconds between server pings (each session once per interval, spread over it); a session that misses two in a row is dropped, except a backend session that never answered one (Oro\'s PHP backend). 0 = no pings.',
      example: '30'
    },
    ORO_WEBSOCKET_KEEPALIVE_INTERVAL: {
      type: 'integer',
      default: 50,
      minimum: 0,
      maximum: 86400,
      description: 'Seconds between "Connection keep alive" events on oro/ping while it has subscribers. 0 = never.',
      example: '50'
    },
    ORO_WEBSOCKET_PUBLISH_KEYS: {
      type: 'string',
      description: 'Comma-separated keys for POST /publish (Authorization: Bearer KEY); several allow rotation. Not set: POST /publish is disabled (dev makes one at start). prod refuses to start with the placeholder of deploy/kubernetes/secret.example.yaml.',
      example: 'k3y-0ne,k3y-tw0',
      secret: true
    },
    ORO_WEBSOCKET_PUBLISH_MAX_BYTES: {
      type: 'integer',
      minimum: 1024,
      maximum: 268435456,
      description: "Largest POST /publish body; a bigger one is answered 413 (GW_ERR_BODY_TOO_LARGE) and not delivered. Default: ORO_WEBSOCKET_BACKEND_MAX_FRAME_BYTES (16 MiB), so a mass edit Oro's backend may publish over WAMP is taken over HTTP too. The publish key is checked before any of the body is read.",
      example: '16777216'
    },
    ORO_WEBSOCKET_PUBLISH_MAX_BATCH: {
      type: 'integer',
      default: 100,
      minimum: 1,
      maximum: 10000,
      description: 'Most publications in one POST /publish request.',
      example: '100'
    },
    ORO_WEBSOCKET_PUBLISH_RATE_LIMIT: {
      type: 'integer',
      default: 0,
      minimum: 0,
      maximum: 1000000,
      description: 'POST /publish requests per second allowed per key, and WAMP PUBLISHes per backend session (burst: one second\'s worth; WAMP: reading waits); 0 = no limit.',
      example: '200'
    },
    ORO_WEBSOCKET_PUBLISH_LISTEN: {
      type: 'string',
      description: 'Serve POST /publish on this separate address (host:port, optionally ?context_options[...] for its own TLS) instead of the WebSocket listener.',
      example: '127.0.0.1:8081'
    },
    ORO_WEBSOCKET_METRICS_LISTEN: {
      type: 'string',
      description: 'Serve GET /metrics (and /status when on) on this separate address (host:port) and not on the WebSocket listener.',
      example: '127.0.0.1:9464'
    },
    ORO_WEBSOCKET_STATUS: {
      type: 'string',
      default: 'off',
      enum: ['off', 'on'],
      description: 'on: serve the live status page GET /status (and /status.json). It needs ORO_WEBSOCKET_STATUS_KEY, unless ORO_WEBSOCKET_METRICS_LISTEN serves it on its own address.',
      example: 'on'
    },
    ORO_WEBSOCKET_STATUS_KEY: {
      type: 'string',
      description: 'Key for GET /status and /status.json: ?key=KEY in a browser, or Authorization: Bearer KEY. Set, it is asked on the metrics listener too.',
      example: 'st4tus-k3y',
      secret: true
    },
    ORO_WEBSOCKET_BROKER_DSN: {
      type: 'string',
      default: 'memory://',
      description: 'memory:// (one node) or Redis to run several nodes as one: redis://, rediss://, redis-sentinel://, redis-cluster:// (see docs/scale-out.md).',
      example: 'redis://:password@10.0.0.5:6379/0',
      secret: true
    },
    ORO_WEBSOCKET_REDIS_PREFIX: {
      type: 'string',
      default: 'oro-ws:',
      description: 'Prefix of the Redis channels and keys, so several gateways can share one Redis.',
      example: 'shop1:ws:'
    },
    ORO_WEBSOCKET_HUB_QUEUE_BYTES: {
      type: 'integer',
      default: 16777216,
      minimum: 65536,
      maximum: 1073741824,
      description: 'Bytes of publications a node may hold while its fan-outs are behind (events arriving faster than they are written out); past it (events from Redis: beyond the largest queued one), further events from Redis are dropped, counted (oro_ws_publications_shed_total) and logged at error, WAMP backends\' publishes wait in order (their reading paused) until there is room, and POST /publish gets 503 (nothing delivered; retry).',
      example: '16777216'
    },
    ORO_WEBSOCKET_SHUTDOWN_TIMEOUT: {
      type: 'integer',
      default: 10,
      minimum: 1,
      maximum: 3600,
      description: 'Seconds a graceful shutdown may take before the process exits anyway (flag --shutdown-timeout).',
      example: '10'
    },
    ORO_WEBSOCKET_DRAIN_DELAY: {
      type: 'integer',
      default: 1,
      minimum: 0,
      maximum: 3600,
      description: 'Seconds between SIGTERM and closing the publish and metrics listeners (readiness turns 503 at once; requests on open connections are still served, so load balancers notice). The WebSocket listener stops taking new connections at once.',
      example: '5'
    }
  },
  required: []
} as const satisfies { type: 'object', properties: Record<string, SettingSchema>, required: readonly string[] }

export type SettingName = keyof typeof configSchema.properties

type ValueOf<S> = S extends { type: 'integer' } ? number : S extends { type: 'boolean' } ? boolean : string

/** Validated settings, typed from the schema: a setting without a default may be absent. */
export type Settings = {
  [K in SettingName]: (typeof configSchema.properties)[K] extends { default: unknown }
    ? ValueOf<(typeof configSchema.properties)[K]>
    : ValueOf<(typeof configSchema.properties)[K]> | undefined
}

export const settingNames = Object.keys(configSchema.properties) as SettingName[]

export function settingSchema (name: SettingName): SettingSchema {
  return configSchema.properties[name]
}
