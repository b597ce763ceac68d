// The start line: where the gateway listens, the URLs browsers and the backend use, who may
// publish, the broker and the database (passwords masked). What an operator reads first. With TLS
// on the SERVER DSN it says wss:// and https:// and which certificate is served.
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
  const database = gateway.databaseUrl !== undefined ? `${maskUrl(gateway.databaseUrl)} (${gateway.databaseSetting})` : 'not set (anonymous tickets only)'
  const certificate = gateway.server.tls?.server?.certificate
  const tls = certificate !== undefined ? { subject: certificate.subject, validTo: certificate.validTo, fingerprint256: certificate.fingerprint256 } : null
  const schemes = tls !== null
    ? `wss:// and https:// (TLS, certificate ${tls.subject.replace(/\n/g, ', ')} valid until ${tls.validTo})`
    : 'ws:// and http://'
  return {
    fields: { ...urls, tls, mode, backendNetworks, publishEnabled, broker, database },
    msg: `oro-websocket-gateway listening on ${urls.listen}${gateway.server.enabled ? `, ${schemes}` : ''}; browsers connect to ${urls.frontend}, the backend to ${urls.backend}; ` +
      `WAMP publishers: direct connections from ${backendNetworks} (ORO_WEBSOCKET_BACKEND_NETWORKS); ${publish}; broker ${broker}; database ${database}`
  }
}
