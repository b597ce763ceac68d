// `oro-websocket-gateway nginx [--tls] [--upstream N]`: prints the nginx blocks that match the
// effective configuration (see nginx-config.ts for what they contain and why).
import { loadConfig } from '../config/load.js'
import { ConfigError } from '../config/errors.js'
import { nginxParts, renderNginx, type NginxOptions } from './nginx-config.js'
import { commandLoadOptions, parseCommandLine, refuseArguments } from './options.js'

export const NGINX_OPTIONS = {
  tls: { type: 'boolean' },
  upstream: { type: 'string' },
  'server-name': { type: 'string' },
  'ssl-certificate': { type: 'string' },
  'ssl-certificate-key': { type: 'string' },
  'proxy-ssl-trusted-certificate': { type: 'string' },
  'proxy-ssl-name': { type: 'string' },
  'app-root': { type: 'string' },
  parameters: { type: 'string' },
  host: { type: 'string', short: 'a' },
  port: { type: 'string', short: 'p' }
} as const

export function nginxCommand (args: string[], env: Record<string, string | undefined>, cwd: string): string {
  const { values, positionals } = parseCommandLine(args, NGINX_OPTIONS, 'oro-websocket-gateway nginx --tls --upstream 3')
  refuseArguments(positionals, 'oro-websocket-gateway nginx --tls')
  const upstreamText = values.upstream ?? '1'
  if (!/^\d+$/.test(upstreamText)) throw new ConfigError('--upstream', `= "${upstreamText}" is not a number of nodes`, '--upstream 3')
  const loaded = loadConfig(commandLoadOptions(values, env, cwd))
  const options: NginxOptions = { tls: values.tls ?? false, upstream: Number(upstreamText) }
  if (values['server-name'] !== undefined) options.serverName = values['server-name']
  if (values['ssl-certificate'] !== undefined) options.sslCertificate = values['ssl-certificate']
  if (values['ssl-certificate-key'] !== undefined) options.sslCertificateKey = values['ssl-certificate-key']
  if (values['proxy-ssl-trusted-certificate'] !== undefined) options.proxySslTrustedCertificate = values['proxy-ssl-trusted-certificate']
  if (values['proxy-ssl-name'] !== undefined) options.proxySslName = values['proxy-ssl-name']
  const { server, frontend } = loaded.gateway
  const summary = `ORO_WEBSOCKET_SERVER_DSN (${server.tls !== null ? 'TLS on ' : ''}${server.host}:${server.port}) and ORO_WEBSOCKET_FRONTEND_DSN (path /${frontend.path}, port ${frontend.port})`
  return renderNginx(nginxParts(loaded.gateway, options), summary)
}
