// Every error a user of the gateway can meet, one code each (GW_ERR_*), made with @fastify/error.
// Each export is named after its code; test/errors.test.ts checks that and that the README's
// error table lists every one. Messages say what to change.
import createError from '@fastify/error'

export const GW_ERR_CONFIG_INVALID = createError(
  'GW_ERR_CONFIG_INVALID',
  'Invalid configuration: %s',
  500
)

export const GW_ERR_LISTEN_FAILED = createError(
  'GW_ERR_LISTEN_FAILED',
  'Cannot listen on %s: %s; free the port or change ORO_WEBSOCKET_SERVER_DSN (or --host/--port)',
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
