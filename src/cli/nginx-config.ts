// The nginx configuration that puts the gateway behind an Oro site, made from the effective DSNs:
// the FRONTEND DSN's path is the `location` browsers use, the SERVER DSN's address (or N nodes
// on consecutive ports from it) is where nginx forwards. Headers and timeouts are those of Oro's
// documented block (shared/seeds), in its newer `proxy_pass .../$is_args$args` form, plus the
// guard that keeps every other path below the location (/wspublish, /wsmetrics, ...) closed.
// A gateway with TLS of its own (the SERVER DSN's context_options[local_cert]) is forwarded to
// over https://: on this machine without checking its certificate (the connection never leaves
// it, as with plain http://), elsewhere checked against --proxy-ssl-trusted-certificate.
import { X509Certificate } from 'node:crypto'
import { ConfigError } from '../config/errors.js'
import type { GatewayConfig } from '../config/gateway-config.js'
import { usageError } from './options.js'

export interface NginxOptions {
  /** Print the site's whole `server { listen 443 ssl; ... }` block around the locations. */
  tls: boolean
  /** Gateway nodes: 1 forwards to the SERVER DSN's address; N > 1 adds an `upstream` of N nodes on consecutive ports. */
  upstream: number
  /** server_name of the TLS block (default: the FRONTEND DSN's host, or example.com). */
  serverName?: string
  sslCertificate?: string
  sslCertificateKey?: string
  /** A gateway with TLS: the CA file nginx checks its certificate against (proxy_ssl_verify on). */
  proxySslTrustedCertificate?: string
  /** A gateway with TLS: the name its certificate must have (default: the certificate's first DNS name). */
  proxySslName?: string
}

export interface NginxParts {
  /** For the http {} context (nginx.conf, conf.d/*.conf): the upstream and, with TLS, the server block. */
  http: string
  /** For the site's existing server {} block (empty with TLS: the locations are in `http`). */
  server: string
}

export const UPSTREAM_NAME = 'oro_websocket'
/** The line before the http {} part and before the server {} part in the printed text. */
export const HTTP_MARKER = '# ---- in the http { } context (e.g. /etc/nginx/conf.d/oro-websocket.conf) ----'
export const SERVER_MARKER = '# ---- inside the server { } block of the Oro site ----'

/** The address nginx forwards to for a listen host: a wildcard means this machine's loopback. */
export function upstreamHost (host: string): string {
  if (['', '*', '0.0.0.0'].includes(host)) return '127.0.0.1'
  if (host === '::' || host === '[::]') return '[::1]'
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host
}

function indent (text: string, by: string): string {
  return text.split('\n').map((line) => line === '' ? line : by + line).join('\n')
}

/** An address on this machine: what nginx sends there does not cross a network. */
export function isLoopback (host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '')
  return bare === 'localhost' || bare === '::1' || /^127\.\d+\.\d+\.\d+$/.test(bare)
}

/** The first DNS name (not a wildcard) of the certificate loadConfig read for the listener. */
function certificateName (gateway: GatewayConfig): string | undefined {
  const cert = gateway.server.tls?.server?.cert
  if (cert === undefined || Array.isArray(cert)) return undefined
  try {
    const x509 = new X509Certificate(cert as Buffer | string)
    const dns = (x509.subjectAltName ?? '').split(', ').find((entry) => entry.startsWith('DNS:') && !entry.includes('*'))
    return dns?.slice(4) ?? /(?:^|\n)CN=([^\n*]+)/.exec(x509.subject)?.[1]
  } catch {
    return undefined
  }
}

/** The proxy_ssl_* lines for a gateway that serves TLS itself (see the head of this file). */
function proxySslLines (gateway: GatewayConfig, options: Pick<NginxOptions, 'proxySslTrustedCertificate' | 'proxySslName'>): string[] {
  const host = upstreamHost(gateway.server.host)
  const trusted = options.proxySslTrustedCertificate
  if (trusted === undefined && isLoopback(host)) {
    return [
      '    # The gateway serves TLS itself (ORO_WEBSOCKET_SERVER_DSN context_options[local_cert]). nginx does',
      '    # not check its certificate (proxy_ssl_verify off, nginx\'s default): the connection stays on this',
      '    # machine. To check it anyway, print this again with --proxy-ssl-trusted-certificate CA_FILE.',
      '    proxy_ssl_verify off;'
    ]
  }
  if (trusted === undefined) {
    throw usageError(`the gateway at ${host}:${gateway.server.port} serves TLS (ORO_WEBSOCKET_SERVER_DSN context_options[local_cert]) on another machine: give the CA nginx checks its certificate against with --proxy-ssl-trusted-certificate`, 'oro-websocket-gateway nginx --proxy-ssl-trusted-certificate /etc/ssl/certs/ca-certificates.crt')
  }
  if (/[\s;{}'"]/.test(trusted)) throw new ConfigError('--proxy-ssl-trusted-certificate', `= "${trusted}" cannot be written in nginx's configuration safely`, '--proxy-ssl-trusted-certificate /etc/ssl/certs/ca.pem')
  const name = options.proxySslName ?? certificateName(gateway) ?? host.replace(/^\[|\]$/g, '')
  if (!/^[A-Za-z0-9.:-]+$/.test(name)) throw new ConfigError('--proxy-ssl-name', `= "${name}" is not a host name`, '--proxy-ssl-name ws.example.com')
  return [
    '    # The gateway serves TLS itself (ORO_WEBSOCKET_SERVER_DSN context_options[local_cert]): nginx checks',
    '    # that its certificate is signed by this CA and names this host.',
    '    proxy_ssl_verify on;',
    `    proxy_ssl_trusted_certificate ${trusted};`,
    '    proxy_ssl_verify_depth 3;',
    `    proxy_ssl_name ${name};`,
    '    proxy_ssl_server_name on;'
  ]
}

export function locationBlocks (gateway: GatewayConfig, nodes: number, options: Pick<NginxOptions, 'proxySslTrustedCertificate' | 'proxySslName'> = {}): string {
  const path = gateway.frontend.path
  if (path === '') {
    throw new ConfigError('ORO_WEBSOCKET_FRONTEND_DSN', '= has no path: behind nginx, browsers need one (the location that is proxied to the gateway)', 'ORO_WEBSOCKET_FRONTEND_DSN=//*:443/ws')
  }
  if (!/^[A-Za-z0-9._~\-/]+$/.test(path)) {
    throw new ConfigError('ORO_WEBSOCKET_FRONTEND_DSN', `= has a path "/${path}" that cannot be written as an nginx location safely`, 'ORO_WEBSOCKET_FRONTEND_DSN=//*:443/ws')
  }
  const target = nodes > 1 ? UPSTREAM_NAME : `${upstreamHost(gateway.server.host)}:${gateway.server.port}`
  const guard = `/${path}`.replace(/[.]/g, '\\.')
  const scheme = gateway.server.tls !== null ? 'https' : 'http'
  const lines = [
    `# Only /${path} itself reaches the gateway: without this, "location /${path}" would also forward`,
    `# /${path}publish, /${path}metrics, ... to the gateway's HTTP routes.`,
    `location ~ ^${guard}.+ { return 404; }`,
    '',
    `location /${path} {`,
    '    proxy_set_header Host $http_host;',
    '    proxy_set_header X-Real-IP $remote_addr;',
    '    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;',
    '    proxy_set_header X-Forwarded-Proto $scheme;',
    '',
    `    proxy_pass ${scheme}://${target}/$is_args$args;`,
    ...(gateway.server.tls !== null ? proxySslLines(gateway, options) : []),
    '    proxy_redirect off;',
    '    # WebSockets live long; the gateway pings every ORO_WEBSOCKET_PING_INTERVAL seconds.',
    '    proxy_read_timeout 86400;',
    '',
    '    # WebSocket upgrade',
    '    proxy_http_version 1.1;',
    '    proxy_set_header Upgrade $http_upgrade;',
    '    proxy_set_header Connection "upgrade";',
    '',
    '    proxy_buffers 8 32k;',
    '    proxy_buffer_size 64k;',
    '    reset_timedout_connection on;'
  ]
  if (nodes > 1) {
    // error: a draining node closes its listening socket first, so its pages' reconnects are
    // refused there (least_conn would pick the node that just emptied) and go to the next node.
    // http_503: the upgrades a node held when its drain began, or a node that cannot catch up;
    // safe, a GET before its 101 changed nothing. Not http_429: a client over its failure budget
    // on one node must not get a fresh budget on the next.
    lines.push('', '    # A node that is draining or down refuses the connection (error), or answers 503 to the',
      '    # upgrades it held: the next one takes the upgrade (nothing was upgraded yet). Not on 429.',
      '    proxy_next_upstream error timeout http_502 http_503;')
  }
  lines.push('}')
  return lines.join('\n')
}

export function upstreamBlock (gateway: GatewayConfig, nodes: number): string {
  const host = upstreamHost(gateway.server.host)
  const first = gateway.server.port
  if (first + nodes - 1 > 65535) {
    throw new ConfigError('--upstream', `= ${nodes} nodes from port ${first} go past port 65535`, '--upstream 3')
  }
  const servers = Array.from({ length: nodes }, (_unused, i) => `    server ${host}:${first + i} max_fails=3 fail_timeout=10s;`)
  return [
    `# ${nodes} gateway nodes on ports ${first}-${first + nodes - 1} (serve --port), all with the same`,
    '# ORO_WEBSOCKET_BROKER_DSN (Redis) so that they act as one gateway.',
    `upstream ${UPSTREAM_NAME} {`,
    '    # WebSockets live long: each new one goes to the node with the fewest open connections.',
    '    least_conn;',
    ...servers,
    '}'
  ].join('\n')
}

export function tlsServerBlock (gateway: GatewayConfig, options: NginxOptions, locations: string): string {
  const frontend = gateway.frontend
  // Browsers connect to the FRONTEND DSN's port; when that is the gateway's own port (the direct,
  // proxy-less default), nginx takes the usual 443.
  const port = frontend.port !== gateway.server.port ? frontend.port : 443
  const name = options.serverName ?? (frontend.host !== '*' && frontend.host !== '' ? frontend.host : 'example.com')
  return [
    'server {',
    '    # The site\'s TLS server block (Oro\'s documented one); WebSockets arrive as wss:// on it.',
    `    listen ${port} ssl;`,
    `    server_name ${name};`,
    '',
    `    ssl_certificate ${options.sslCertificate ?? `/etc/ssl/private/${name}.crt.fullchain`};`,
    `    ssl_certificate_key ${options.sslCertificateKey ?? `/etc/ssl/private/${name}.key`};`,
    '    ssl_protocols TLSv1.2 TLSv1.3;',
    '',
    '    # ... the site\'s other instructions ...',
    '',
    indent(locations, '    '),
    '}'
  ].join('\n')
}

export function nginxParts (gateway: GatewayConfig, options: NginxOptions): NginxParts {
  if (!Number.isInteger(options.upstream) || options.upstream < 1) {
    throw new ConfigError('--upstream', `= ${options.upstream} is not a number of nodes (1 or more)`, '--upstream 3')
  }
  const locations = locationBlocks(gateway, options.upstream, options)
  const http: string[] = []
  if (options.upstream > 1) http.push(upstreamBlock(gateway, options.upstream))
  if (options.tls) {
    http.push(tlsServerBlock(gateway, options, locations))
    return { http: http.join('\n\n'), server: '' }
  }
  return { http: http.join('\n\n'), server: locations }
}

/** The text the `nginx` command prints: each part after its marker line. */
export function renderNginx (parts: NginxParts, summary: string): string {
  const out = [`# Made by oro-websocket-gateway nginx from ${summary}.`]
  if (parts.http !== '') out.push(HTTP_MARKER, parts.http)
  if (parts.server !== '') out.push(SERVER_MARKER, parts.server)
  return out.join('\n') + '\n'
}

/** Splits printed text back into its parts (what the test wraps into an nginx.conf). */
export function splitNginx (text: string): NginxParts {
  const httpAt = text.indexOf(HTTP_MARKER)
  const serverAt = text.indexOf(SERVER_MARKER)
  const http = httpAt === -1 ? '' : text.slice(httpAt + HTTP_MARKER.length, serverAt === -1 ? undefined : serverAt)
  const server = serverAt === -1 ? '' : text.slice(serverAt + SERVER_MARKER.length)
  return { http: http.trim(), server: server.trim() }
}
