// The start line: where the gateway listens, the URLs browsers and the backend use, who may
// publish, the broker and the database (passwords masked). What an operator reads first.
import type { LoadedConfig } from './config/load.js'
import { effectiveUrls } from './cli/config-command.js'
import { maskUrl } from './config/mask.js'
import type { Mode } from './logger.js'

export interface StartLine {
  fields: Record<string, unknown>
  msg: string
}

export function startLine (loaded: LoadedConfig, mode: Mode): StartLine {
  const { gateway, settings } = loaded
  const urls = effectiveUrls(loaded)
  const publishEnabled = gateway.publish.keys.length > 0
  const publish = publishEnabled ? `POST ${urls.publish} (with a key)` : 'POST /publish disabled (ORO_WEBSOCKET_PUBLISH_KEYS is not set)'
  const backendNetworks = settings.ORO_WEBSOCKET_BACKEND_NETWORKS
  const broker = maskUrl(settings.ORO_WEBSOCKET_BROKER_DSN)
  const database = gateway.databaseUrl !== undefined ? maskUrl(gateway.databaseUrl) : 'not set (anonymous tickets only)'
  return {
    fields: { ...urls, mode, backendNetworks, publishEnabled, broker, database },
    msg: `oro-websocket-gateway listening on ${urls.listen}; browsers connect to ${urls.frontend}, the backend to ${urls.backend}; ` +
      `WAMP publishers: direct connections from ${backendNetworks} (ORO_WEBSOCKET_BACKEND_NETWORKS); ${publish}; broker ${broker}; database ${database}`
  }
}
