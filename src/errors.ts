// Every error a user of the gateway can meet, one code each (GW_ERR_*), made with @fastify/error.
// Each export is named after its code; test/errors.test.ts checks that and that the README's
// error table lists every one. Messages say what to change.
import createError from '@fastify/error'

export const GW_ERR_CONFIG_INVALID = createError(
  'GW_ERR_CONFIG_INVALID',
  'Invalid configuration: %s',
  500
)

// The second argument says what went wrong and what to change (src/listen-error.ts).
export const GW_ERR_LISTEN_FAILED = createError(
  'GW_ERR_LISTEN_FAILED',
  'Cannot listen on %s: %s',
  500
)

// A mistake on the command line (unknown command or option, a missing argument): exit 2.
export const GW_ERR_USAGE = createError(
  'GW_ERR_USAGE',
  '%s; see "oro-websocket-gateway help"',
  400
)

// stdout cannot take log lines (a full disk): the gateway goes on, the lines are dropped and counted.
export const GW_ERR_LOG_WRITE_FAILED = createError(
  'GW_ERR_LOG_WRITE_FAILED',
  'log lines cannot be written to stdout (%s); the gateway keeps running and drops them (counted in oro_ws_log_lines_dropped_total); free the disk or fix where stdout goes',
  500
)

export const GW_ERR_NOT_FOUND = createError(
  'GW_ERR_NOT_FOUND',
  'No route %s %s; see GET /openapi.json for the HTTP API, or connect a WebSocket client to upgrade',
  404
)

export const GW_ERR_SHUTTING_DOWN = createError(
  'GW_ERR_SHUTTING_DOWN',
  'The gateway is shutting down; retry in a moment (another node will answer)',
  503
)

export const GW_ERR_INTERNAL = createError(
  'GW_ERR_INTERNAL',
  'Internal server error; the gateway log has the details',
  500
)

// Authentication before the WebSocket upgrade (tickets and origin, oro-compat §4).
export const GW_ERR_TICKET_MISSING = createError(
  'GW_ERR_TICKET_MISSING',
  'No ticket: connect with ?ticket=<the ticket from POST /sync/ticket on the Oro application>',
  401
)

export const GW_ERR_TICKET_MALFORMED = createError(
  'GW_ERR_TICKET_MALFORMED',
  'Malformed ticket: %s; use the ticket exactly as Oro issues it (base64 of digest;username;nonce;created)',
  401
)

export const GW_ERR_TICKET_EXPIRED = createError(
  'GW_ERR_TICKET_EXPIRED',
  'Ticket expired: created %s, more than %s s ago; fetch a new ticket',
  401
)

export const GW_ERR_TICKET_FUTURE = createError(
  'GW_ERR_TICKET_FUTURE',
  'Ticket created in the future (%s, more than %s s ahead); check the clocks of the Oro application and the gateway',
  401
)

export const GW_ERR_TICKET_INVALID = createError(
  'GW_ERR_TICKET_INVALID',
  'Ticket digest does not match; it was not made with this ORO_SECRET (or with this user\'s password)',
  401
)

export const GW_ERR_USER_UNKNOWN = createError(
  'GW_ERR_USER_UNKNOWN',
  'Ticket names a user that does not exist in Oro\'s database',
  401
)

export const GW_ERR_USER_DISABLED = createError(
  'GW_ERR_USER_DISABLED',
  'Ticket names a disabled user',
  401
)

// The message reaches any browser: why the database failed (login refused, host, table) is not
// in it but in `detail`, for the log, /readyz and the doctor (see auth/database-error.ts).
export const GW_ERR_DATABASE_UNAVAILABLE = createError(
  'GW_ERR_DATABASE_UNAVAILABLE',
  'Oro\'s database cannot be used to verify the ticket now; retry later (the gateway\'s log and /readyz say why)',
  503
)

export const GW_ERR_ORIGIN_FORBIDDEN = createError(
  'GW_ERR_ORIGIN_FORBIDDEN',
  'Origin %s is not allowed; add its host to ORO_WEBSOCKET_ALLOWED_ORIGINS',
  403
)

// WebSocket endpoint.
export const GW_ERR_UPGRADE_REQUIRED = createError(
  'GW_ERR_UPGRADE_REQUIRED',
  'This is the WebSocket endpoint: connect with a WebSocket client (subprotocol wamp), e.g. %s',
  426
)

// HTTP publish API (POST /publish).
export const GW_ERR_BODY_INVALID = createError(
  'GW_ERR_BODY_INVALID',
  'Invalid request body: %s',
  400
)

export const GW_ERR_PAYLOAD_SHAPE = createError(
  'GW_ERR_PAYLOAD_SHAPE',
  'Invalid data for %s: %s; Oro\'s browser code expects %s',
  400
)

export const GW_ERR_UNAUTHORIZED = createError(
  'GW_ERR_UNAUTHORIZED',
  'Missing or wrong publish key: send "Authorization: Bearer <key>" with a key from ORO_WEBSOCKET_PUBLISH_KEYS',
  401
)

export const GW_ERR_TOPIC_FORBIDDEN = createError(
  'GW_ERR_TOPIC_FORBIDDEN',
  'Topic %s cannot be published to: %s',
  403
)

export const GW_ERR_TOPIC_NOT_ROUTED = createError(
  'GW_ERR_TOPIC_NOT_ROUTED',
  'No routing rule matches topic %s: a custom bundle\'s topic is known only with --app-root (the Oro application\'s root, whose bundles\' websocket_routing.yml are read) or a rule in ORO_WEBSOCKET_TOPICS; else fix the topic',
  404
)

export const GW_ERR_BODY_TOO_LARGE = createError(
  'GW_ERR_BODY_TOO_LARGE',
  'Request body is over %s bytes (ORO_WEBSOCKET_PUBLISH_MAX_BYTES); nothing was delivered: send smaller batches, or raise ORO_WEBSOCKET_PUBLISH_MAX_BYTES on the gateway',
  413
)

export const GW_ERR_UNSUPPORTED_MEDIA_TYPE = createError(
  'GW_ERR_UNSUPPORTED_MEDIA_TYPE',
  'Content-Type %s is not supported; send JSON with "Content-Type: application/json"',
  415
)

export const GW_ERR_RATE_LIMITED = createError(
  'GW_ERR_RATE_LIMITED',
  'Over the publish rate limit of %s requests per second for this key (ORO_WEBSOCKET_PUBLISH_RATE_LIMIT); retry after %s s',
  429
)

export const GW_ERR_BROKER_UNAVAILABLE = createError(
  'GW_ERR_BROKER_UNAVAILABLE',
  'The broker cannot take publications now (%s); nothing was delivered, retry later',
  503
)

// The command reached Redis (or may have) but no answer came: the events may or may not be
// delivered, so this must never be a "nothing was delivered" answer.
export const GW_ERR_PUBLISH_OUTCOME_UNKNOWN = createError(
  'GW_ERR_PUBLISH_OUTCOME_UNKNOWN',
  'The broker did not confirm the publications (%s); they may or may not have been delivered. Retry with the same Idempotency-Key (a retry without one may deliver twice)',
  504
)

export const GW_ERR_IDEMPOTENCY_KEY_REUSED = createError(
  'GW_ERR_IDEMPOTENCY_KEY_REUSED',
  'Idempotency-Key %s was used within the last 5 minutes for another request body; use a new key for a new request',
  422
)

// Idempotency-Key answers (and the ids nodes deliver once) are remembered for 5 minutes within a
// memory bound; past it new keys are refused rather than older ones forgotten (issue 18).
export const GW_ERR_IDEMPOTENCY_STORE_FULL = createError(
  'GW_ERR_IDEMPOTENCY_STORE_FULL',
  'Too many requests with an Idempotency-Key in the last 5 minutes: this node remembers %s of them, its bound; nothing was delivered, retry after %s s',
  503
)

// GET /status and /status.json (ORO_WEBSOCKET_STATUS=on with ORO_WEBSOCKET_STATUS_KEY).
export const GW_ERR_STATUS_UNAUTHORIZED = createError(
  'GW_ERR_STATUS_UNAUTHORIZED',
  'Missing or wrong status key: open /status?key=<key> in a browser, or send "Authorization: Bearer <key>", with the key in ORO_WEBSOCKET_STATUS_KEY',
  401
)

export const GW_ERR_PUBLISH_DISABLED = createError(
  'GW_ERR_PUBLISH_DISABLED',
  'POST /publish is disabled: ORO_WEBSOCKET_PUBLISH_KEYS is not set on the gateway; set it (e.g. ORO_WEBSOCKET_PUBLISH_KEYS=$(openssl rand -base64 24)) to publish over HTTP',
  404
)

// The `publish` command.
export const GW_ERR_GATEWAY_UNREACHABLE = createError(
  'GW_ERR_GATEWAY_UNREACHABLE',
  'Cannot reach the gateway at %s (%s); is it running? Give its address with --url',
  503
)

export const GW_ERR_AUTH_BUSY = createError(
  'GW_ERR_AUTH_BUSY',
  'Too many connections are waiting to be authenticated (%s); retry in a moment',
  503
)

export const GW_ERR_AUTH_WAIT_TOO_LONG = createError(
  'GW_ERR_AUTH_WAIT_TOO_LONG',
  'The connections waiting to be authenticated would keep this one about %s s, more than ORO_WEBSOCKET_AUTH_MAX_WAIT (%s s); retry after Retry-After',
  503
)

export const GW_ERR_TICKET_REUSED = createError(
  'GW_ERR_TICKET_REUSED',
  'This ticket has already opened %s sessions (ORO_WEBSOCKET_SESSIONS_PER_TICKET); fetch a new ticket from the Oro application for each connection',
  429
)

export const GW_ERR_USER_SESSIONS = createError(
  'GW_ERR_USER_SESSIONS',
  'This user already has %s sessions on this node (ORO_WEBSOCKET_MAX_SESSIONS_PER_USER); close some pages and retry',
  429
)

export const GW_ERR_AUTH_RATE_LIMITED = createError(
  'GW_ERR_AUTH_RATE_LIMITED',
  'Too many %s from your network; fetch a new ticket from the Oro application and retry after %s s',
  429
)

export const GW_ERR_USERS_NOT_CONFIGURED = createError(
  'GW_ERR_USERS_NOT_CONFIGURED',
  'Tickets of logged-in users cannot be verified: neither ORO_DB_DSN nor ORO_DB_URL is set on the gateway; set one to Oro\'s database',
  503
)
