// The doctor: against a running gateway, what Oro's own health check does (the backend handshake,
// OroHealthCheckBundle's WebSocketCheck) and what else an Oro site needs to work, step by step.
// Every step says what it found; a failing one says what to change.
import { randomBytes } from 'node:crypto'
import type { LoadedConfig } from '../config/load.js'
import { ConfigError } from '../config/errors.js'
import { upstreamHost } from '../cli/nginx-config.js'
import { effectiveUrls } from '../cli/config-command.js'
import { readDevKey } from '../publish/dev-key.js'
import { isPinMismatch, probeError, probeRequest } from '../tls/pin.js'
import { backendHandshake, type HandshakeOutcome } from './backend-client.js'
import { connectBrowser, withTicket, type BrowserOutcome, type BrowserSession } from './browser-client.js'
import { pingBroker } from './broker.js'
import { DatabaseProbeError, probeDatabase } from './database.js'
import type { StepResult } from './report.js'
import { anonymousTicket } from './ticket.js'
import { BUNDLE_DSN, BUNDLE_KEY, bundleConnectionFix, bundleRequest, keyProblem, parseBundleDsn, readBundleSettings, readCa } from './bundle.js'

/** Handshakes the backend step tries before a split answer fails it. */
const BACKEND_ATTEMPTS = 3

export interface CheckOptions {
  loaded: LoadedConfig
  /** --url: the WebSocket URL browsers use (through the proxy). */
  url?: string
  /** --origin: the Origin browsers send (a host or an origin). */
  origin?: string
  /** --key: a publish key for POST /publish. */
  key?: string
  timeoutMs?: number
  /** The environment the check runs in: the Oro bundle's settings there win over the .env-app files'. */
  env?: Record<string, string | undefined>
}

/** Oro's own topic whose payload is any string; probes are sent `eligible` to the probe session only. */
export const PROBE_TOPIC = 'oro/message_queue_heartbeat'

const NGINX_HINT = '(`oro-websocket-gateway nginx` prints the block)'

interface Refusal { status: number, code: string | undefined, body: string }

/** What to change for an answer other than 101 + WELCOME. `via` says where the client connected. */
export function explainRefusal (refusal: Refusal, via: 'backend' | 'direct' | 'proxy', context: { origin?: string, path?: string }): string {
  switch (refusal.code) {
    case 'GW_ERR_TICKET_INVALID':
      return 'the ticket\'s digest does not match: the gateway\'s ORO_SECRET is not the one the Oro application (and this check) uses; give the gateway the application\'s ORO_SECRET (serve --app-root DIR reads it from .env-app.local)'
    case 'GW_ERR_TICKET_EXPIRED':
    case 'GW_ERR_TICKET_FUTURE':
      return 'the clocks of this machine and of the gateway differ by minutes; synchronise them (NTP)'
    case 'GW_ERR_TICKET_MISSING':
    case 'GW_ERR_TICKET_MALFORMED':
      return 'no usable ticket: run the check with the application\'s ORO_SECRET (--app-root DIR, or the environment)'
    case 'GW_ERR_ORIGIN_FORBIDDEN':
      return `the gateway does not allow Origin ${context.origin ?? '?'}: add ${originHost(context.origin ?? '')} to ORO_WEBSOCKET_ALLOWED_ORIGINS`
    case 'GW_ERR_SHUTTING_DOWN':
      return 'the gateway is draining (shutting down); run the check again once it has restarted'
    case 'GW_ERR_AUTH_BUSY':
      return 'the gateway is busy verifying tickets (a reconnect storm); run the check again in a moment'
    case 'GW_ERR_UPGRADE_REQUIRED':
      return via === 'proxy'
        ? `the proxy forwards the request without the WebSocket upgrade: its location needs proxy_http_version 1.1; proxy_set_header Upgrade $http_upgrade; proxy_set_header Connection "upgrade"; ${NGINX_HINT}`
        : 'the Upgrade header was lost on the way: connect to the gateway itself'
  }
  if (refusal.code !== undefined) return `the gateway refused with ${refusal.code}; see the README's error table`
  if (via === 'proxy') {
    if (refusal.status === 404) return `nothing forwards /${context.path ?? 'ws'} to the gateway: the proxy's location must be the FRONTEND DSN's path /${context.path ?? 'ws'} ${NGINX_HINT}, or correct ORO_WEBSOCKET_FRONTEND_DSN / --url`
    if ([502, 503, 504].includes(refusal.status)) return 'the proxy cannot reach the gateway: its proxy_pass must point at the gateway\'s address (ORO_WEBSOCKET_SERVER_DSN); is the gateway running?'
  }
  return `HTTP ${refusal.status} is not the gateway's answer: something else answers at this address; point it at the gateway`
}

function originHost (origin: string): string {
  try { return new URL(origin.includes('://') ? origin : `https://${origin}`).hostname } catch { return origin }
}

function connectionFix (error: string, what: string, setting: string): string {
  if (isPinMismatch(error)) return `the certificate served at ${what} is not the one this configuration gives the gateway (context_options[local_cert]): another process listens there, or the gateway was not reloaded after a renewal (kill -HUP <pid>); run the check with the gateway's own settings (--app-root DIR)`
  if (error === 'ECONNREFUSED') return `nothing listens at ${what}: start the gateway (oro-websocket-gateway serve), or correct ${setting}`
  if (error === 'ENOTFOUND' || error === 'EAI_AGAIN') return `the host of ${what} does not resolve: correct ${setting}`
  return `the connection to ${what} failed: check ${setting}, the network and, for TLS, the certificate`
}

/** The address the gateway listens on, reachable from here. */
export function serverAddress (loaded: LoadedConfig): string {
  return `${upstreamHost(loaded.gateway.server.host)}:${loaded.gateway.server.port}`
}

/** With TLS on the SERVER DSN: the certificate the gateway serves (its SHA-256 fingerprint), which the check trusts on the gateway's own address. */
function serverPin (loaded: LoadedConfig): string | undefined {
  return loaded.gateway.server.tls?.server?.certificate.fingerprint256
}

/** Whether `url` is the gateway's own listen address (not a proxy in front of it). */
function isGatewayAddress (loaded: LoadedConfig, url: string): boolean {
  const parsed = new URL(url.replace(/^ws/, 'http'))
  return upstreamHost(parsed.hostname) === upstreamHost(loaded.gateway.server.host) && Number(parsed.port || (parsed.protocol === 'https:' ? 443 : 80)) === loaded.gateway.server.port
}

/** The WebSocket URL browsers use: --url, or the FRONTEND DSN (host * = the application URL's host, or this machine when browsers connect to the gateway directly). */
export function frontendUrl (loaded: LoadedConfig, given: string | undefined, applicationUrl: string | undefined): { url: string } | { missing: string } {
  if (given !== undefined) return { url: given.replace(/^http(s?):/, 'ws$1:') }
  const { frontend, server } = loaded.gateway
  const secure = ['wss', 'https'].includes(frontend.scheme) || frontend.port === 443
  const path = frontend.path === '' ? '' : `/${frontend.path}`
  if (frontend.host !== '*' && frontend.host !== '') return { url: `${secure ? 'wss' : 'ws'}://${frontend.host}:${frontend.port}${path}` }
  if (applicationUrl !== undefined) {
    const app = new URL(applicationUrl.includes('://') ? applicationUrl : `https://${applicationUrl}`)
    return { url: `${app.protocol === 'http:' && !secure ? 'ws' : 'wss'}://${app.hostname}:${frontend.port}${path}` }
  }
  if (frontend.port === server.port) return { url: `${server.tls !== null ? 'wss' : 'ws'}://${upstreamHost(server.host)}:${frontend.port}${path}` }
  return { missing: `ORO_WEBSOCKET_FRONTEND_DSN's host is * (the page's host) and no application URL is known: give the URL browsers use, e.g. --url wss://shop.example.com${path || '/ws'}` }
}

/** The Origin browsers send: --origin, the application URL's origin, or the FRONTEND DSN's host. */
export function browserOrigin (loaded: LoadedConfig, given: string | undefined, applicationUrl: string | undefined): string | undefined {
  if (given !== undefined) return given.includes('://') ? given : `https://${given}`
  if (applicationUrl !== undefined) return applicationUrl.includes('://') ? new URL(applicationUrl).origin : `https://${applicationUrl}`
  const host = loaded.gateway.frontend.host
  return host !== '*' && host !== '' ? `https://${host}` : undefined
}

async function readiness (base: string, timeoutMs: number, pin: string | undefined): Promise<StepResult> {
  const url = `${pin !== undefined ? 'https' : 'http'}://${base}/readyz`
  const trusted = pin !== undefined ? ' (the certificate of context_options[local_cert])' : ''
  try {
    const res = await probeRequest(url, {}, timeoutMs, pin)
    if (res.status === 200) return { step: 'gateway', status: 'ok', detail: `${url}: ready${trusted}` }
    let checks = res.body
    try { checks = JSON.stringify((JSON.parse(res.body) as { checks?: unknown }).checks) } catch { /* as is */ }
    return { step: 'gateway', status: 'fail', detail: `${url}: HTTP ${res.status} ${checks}`, fix: 'the gateway is not ready: fix what /readyz names (see the steps below for the broker and the database)' }
  } catch (err) {
    const cause = probeError(err)
    return { step: 'gateway', status: 'fail', detail: `${url}: ${cause}`, fix: connectionFix(cause, base, 'ORO_WEBSOCKET_SERVER_DSN') }
  }
}

function sessionOf (outcome: BrowserOutcome | undefined): BrowserSession | undefined {
  return outcome?.kind === 'welcome' ? outcome.session : undefined
}

export async function runCheck (options: CheckOptions): Promise<StepResult[]> {
  const { loaded } = options
  const timeoutMs = options.timeoutMs ?? 3000
  const { gateway } = loaded
  const results: StepResult[] = []
  const secret = gateway.secret
  const ticket = secret !== undefined ? anonymousTicket(secret) : ''
  const server = serverAddress(loaded)
  const pin = serverPin(loaded)
  const open: Array<() => void> = []

  try {
    // 1. Oro's database: the user table and the application URL.
    let applicationUrl: string | undefined
    if (gateway.databaseUrl === undefined) {
      results.push({ step: 'database', status: 'skip', detail: 'ORO_DB_URL is not set (nor ORO_DB_DSN): only anonymous tickets can be verified (logged-in users get 503)', fix: 'set ORO_DB_URL (or --app-root DIR) to the application\'s database' })
    } else {
      const table = loaded.settings.ORO_WEBSOCKET_USER_TABLE
      try {
        const found = await probeDatabase(gateway.databaseUrl, table, timeoutMs, gateway.databaseSetting)
        applicationUrl = found.applicationUrl
        const origins = found.origins.length > 0 ? `; hosts of Oro's URLs (origins from the database): ${found.origins.join(', ')}` : ''
        results.push({ step: 'database', status: 'ok', detail: `${found.display}: ${found.users} users in ${table}; application URL ${found.applicationUrl ?? '(not set)'}${origins}` })
      } catch (err) {
        if (err instanceof ConfigError) throw err
        const e = err as DatabaseProbeError
        const what = e.stage === 'connect' ? 'cannot connect' : `the user table ${table} cannot be read`
        results.push({
          step: 'database',
          status: 'fail',
          detail: `${e.display}: ${what} (${e.message})`,
          fix: e.failure.problem === 'table' ? 'set ORO_WEBSOCKET_USER_TABLE to Oro\'s user table (oro_user, or schema.table)' : `${e.failure.hint}; without it logged-in users cannot connect`
        })
      }
    }

    // 2. The broker.
    const target = gateway.broker.target
    if (target.kind === 'memory') {
      results.push({ step: 'broker', status: 'ok', detail: 'memory:// (one node; every node needs the same Redis in ORO_WEBSOCKET_BROKER_DSN to run several)' })
    } else {
      try {
        const answer = await pingBroker(target, timeoutMs)
        results.push({ step: 'broker', status: 'ok', detail: `${loaded.values.ORO_WEBSOCKET_BROKER_DSN !== undefined ? 'Redis' : 'broker'} (${target.kind}): PING -> ${answer}` })
      } catch (err) {
        results.push({ step: 'broker', status: 'fail', detail: `Redis (${target.kind}) does not answer PING: ${(err as Error).message.slice(0, 200)}`, fix: 'start Redis or correct ORO_WEBSOCKET_BROKER_DSN; while it is down the nodes do not exchange events and POST /publish answers 503' })
      }
    }

    // 3. The gateway itself.
    results.push(await readiness(server, timeoutMs, pin))

    // 4. What Oro's PHP backend and Oro's health check do.
    const backendDsn = gateway.backend
    const backendUrl = `${backendDsn.scheme}://${backendDsn.host}:${backendDsn.port}/${backendDsn.path}`
    // A proxy (nginx) writes the 101 and what follows in two writes: the WELCOME usually arrives
    // in the same read, but not always. Oro's client fails such a handshake, so one split is worth
    // a warning; it fails the step only when every attempt splits.
    let backend: HandshakeOutcome = await backendHandshake(backendDsn, ticket, timeoutMs)
    let splits = 0
    while (backend.kind === 'split' && splits < BACKEND_ATTEMPTS - 1) {
      splits++
      backend = await backendHandshake(backendDsn, ticket, timeoutMs)
    }
    if (backend.kind === 'welcome' && splits === 0) {
      const socket = backend.socket
      open.push(() => socket.destroy())
      results.push({ step: 'backend', status: 'ok', detail: `${backendUrl}: 101 + WELCOME in the first read, as Oro's PHP client needs` })
    } else if (backend.kind === 'welcome') {
      const socket = backend.socket
      open.push(() => socket.destroy())
      results.push({ step: 'backend', status: 'warn', detail: `${backendUrl}: 101 + WELCOME in the first read on attempt ${splits + 1}; ${splits} attempt(s) before came split (the WELCOME in a later read)`, fix: 'Oro\'s PHP client fails a split handshake (its publishes are lost until it reconnects): point ORO_WEBSOCKET_BACKEND_DSN at the gateway itself, not through a proxy that writes the 101 and the WELCOME apart' })
    } else if (backend.kind === 'split') {
      results.push({ step: 'backend', status: 'fail', detail: `${backendUrl}: ${backend.detail}`, fix: 'Oro\'s PHP client reads once: point ORO_WEBSOCKET_BACKEND_DSN at the gateway itself, not through a proxy that splits or buffers the answer' })
    } else if (backend.kind === 'refused') {
      results.push({ step: 'backend', status: 'fail', detail: `${backendUrl}: HTTP ${backend.status}${backend.code !== undefined ? ` ${backend.code}` : ''}`, fix: explainRefusal(backend, 'backend', { origin: '127.0.0.1', path: backendDsn.path }) })
    } else {
      results.push({ step: 'backend', status: 'fail', detail: `${backendUrl}: ${backend.error}`, fix: connectionFix(backend.error, `${backendDsn.host}:${backendDsn.port}`, 'ORO_WEBSOCKET_BACKEND_DSN') })
    }

    // 5. A ticket round trip on the gateway's own address: the right secret in, a wrong one out.
    const direct = `${pin !== undefined ? 'wss' : 'ws'}://${server}/`
    let directSession: BrowserSession | undefined
    if (secret === undefined) {
      results.push({ step: 'ticket', status: 'fail', detail: 'ORO_SECRET is not set where the check runs, so no ticket can be made', fix: 'run the check with the application\'s settings: --app-root DIR, or ORO_SECRET in the environment' })
    } else {
      const good = await connectBrowser(withTicket(direct, ticket), 'http://127.0.0.1', timeoutMs, pin)
      directSession = sessionOf(good)
      if (directSession !== undefined) open.push(directSession.close)
      if (good.kind !== 'welcome') {
        results.push(good.kind === 'refused'
          ? { step: 'ticket', status: 'fail', detail: `${direct}: an anonymous ticket signed with ORO_SECRET got HTTP ${good.status} ${good.code ?? ''}`.trimEnd(), fix: explainRefusal(good, 'direct', { origin: '127.0.0.1' }) }
          : { step: 'ticket', status: 'fail', detail: `${direct}: ${good.error}`, fix: connectionFix(good.error, server, 'ORO_WEBSOCKET_SERVER_DSN') })
      } else {
        const forged = await connectBrowser(withTicket(direct, anonymousTicket(`${secret}-not-${randomBytes(4).toString('hex')}`)), 'http://127.0.0.1', timeoutMs, pin)
        if (forged.kind === 'welcome') {
          forged.session.close()
          results.push({ step: 'ticket', status: 'warn', detail: `${direct}: a ticket signed with ORO_SECRET is accepted, but so is one signed with another secret`, fix: 'the gateway checks no tickets (development mode without ORO_SECRET): set ORO_SECRET and run serve --env=prod' })
        } else if (forged.kind === 'refused' && forged.code === 'GW_ERR_TICKET_INVALID') {
          results.push({ step: 'ticket', status: 'ok', detail: `${direct}: a ticket signed with ORO_SECRET is accepted, one signed with another secret refused (401)` })
        } else {
          results.push({ step: 'ticket', status: 'fail', detail: `${direct}: a ticket signed with another secret got ${forged.kind === 'refused' ? `HTTP ${forged.status} ${forged.code ?? ''}` : forged.error}, not 401 GW_ERR_TICKET_INVALID`, fix: 'the gateway does not verify tickets as Oro does; see its log' })
        }
      }
    }

    // 6. The Origin the site's browsers send.
    const origin = browserOrigin(loaded, options.origin, applicationUrl)
    if (origin === undefined) {
      results.push({ step: 'origin', status: 'skip', detail: 'the browsers\' Origin is not known (no application URL in the database, FRONTEND DSN host *)', fix: 'give it: --origin https://shop.example.com' })
    } else {
      const outcome = await connectBrowser(withTicket(direct, ticket), origin, timeoutMs, pin)
      if (outcome.kind === 'welcome') {
        outcome.session.close()
        results.push({ step: 'origin', status: 'ok', detail: `Origin ${origin} is allowed` })
      } else {
        results.push(outcome.kind === 'refused'
          ? { step: 'origin', status: 'fail', detail: `Origin ${origin}: HTTP ${outcome.status} ${outcome.code ?? ''}`.trimEnd(), fix: explainRefusal(outcome, 'direct', { origin }) }
          : { step: 'origin', status: 'fail', detail: `${direct}: ${outcome.error}`, fix: connectionFix(outcome.error, server, 'ORO_WEBSOCKET_SERVER_DSN') })
      }
    }

    // 7. The path browsers take (through the proxy).
    const target7 = frontendUrl(loaded, options.url, applicationUrl)
    let frontendSession: BrowserSession | undefined
    if ('missing' in target7) {
      results.push({ step: 'frontend', status: 'fail', detail: 'the URL browsers use is not known', fix: target7.missing })
    } else {
      const url = target7.url
      const path = new URL(url).pathname.replace(/^\/+|\/+$/g, '')
      const sentOrigin = origin ?? new URL(url.replace(/^ws/, 'http')).origin
      // Straight to the gateway: its own certificate; through a proxy: the system's CAs, as browsers.
      const toGateway = isGatewayAddress(loaded, url)
      const outcome = await connectBrowser(withTicket(url, ticket), sentOrigin, timeoutMs, toGateway && url.startsWith('wss:') ? pin : undefined)
      frontendSession = sessionOf(outcome)
      if (frontendSession !== undefined) {
        open.push(frontendSession.close)
        results.push(frontendSession.protocol === 'wamp'
          ? { step: 'frontend', status: 'ok', detail: `${url}: WELCOME, subprotocol wamp` }
          : { step: 'frontend', status: 'fail', detail: `${url}: WELCOME without the subprotocol wamp`, fix: 'something on the way drops Sec-WebSocket-Protocol; Oro\'s autobahn.js closes such a connection' })
      } else if (outcome.kind === 'refused') {
        results.push({ step: 'frontend', status: 'fail', detail: `${url}: HTTP ${outcome.status}${outcome.code !== undefined ? ` ${outcome.code}` : ''} instead of 101`, fix: explainRefusal(outcome, toGateway ? 'direct' : 'proxy', { origin: sentOrigin, path }) })
      } else if (outcome.kind === 'error') {
        results.push({ step: 'frontend', status: 'fail', detail: `${url}: ${outcome.error}`, fix: connectionFix(outcome.error, url, 'ORO_WEBSOCKET_FRONTEND_DSN (or --url) and the proxy') })
      }
    }

    // 8. Subscribe + publish + receive: the backend's WAMP PUBLISH, delivered to the probe session only.
    const probe = frontendSession ?? directSession
    const probeVia = frontendSession !== undefined ? 'through the frontend' : 'on the gateway\'s address'
    const brokerDown = results.some((r) => r.step === 'broker' && r.status === 'fail')
    const bundle = readBundleSettings(loaded.envDir, options.env ?? {})
    const bundleUsed = bundle.dsn !== undefined || bundle.key !== undefined
    if (probe === undefined || brokerDown) {
      // Without the broker every publish is refused or dropped: nothing to learn from trying.
      const why = brokerDown ? 'not run: the broker is down (see broker)' : 'not run: no session to subscribe with (see the steps above)'
      results.push({ step: 'publish', status: 'skip', detail: why })
      if (bundleUsed) results.push({ step: 'bundle', status: 'skip', detail: why })
    } else {
      probe.subscribe(PROBE_TOPIC)
      const synced = await probe.sync(timeoutMs)
      if (backend.kind !== 'welcome') {
        results.push({ step: 'publish', status: 'skip', detail: 'not run: the backend handshake failed (see backend)' })
      } else {
        const payload = `oro-websocket-gateway check ${randomBytes(6).toString('hex')}`
        backend.publish([7, PROBE_TOPIC, payload, [], [probe.sessionId]])
        const arrived = synced && await probe.waitForEvent(PROBE_TOPIC, payload, timeoutMs)
        results.push(arrived
          ? { step: 'publish', status: 'ok', detail: `a WAMP PUBLISH from the backend session reached a subscriber ${probeVia} (${PROBE_TOPIC})` }
          : { step: 'publish', status: 'fail', detail: `a WAMP PUBLISH from the backend session did not reach the subscriber ${probeVia} within ${timeoutMs} ms`, fix: 'only backend sessions may publish: connections from an address in ORO_WEBSOCKET_BACKEND_NETWORKS, straight or through a proxy in ORO_WEBSOCKET_TRUSTED_PROXIES that forwards only such addresses (a BACKEND DSN through nginx on another host: add nginx to ORO_WEBSOCKET_TRUSTED_PROXIES, or point ORO_WEBSOCKET_BACKEND_DSN at the gateway itself); with several nodes every node needs the same ORO_WEBSOCKET_BROKER_DSN; the gateway\'s log says why it refused' })
      }

      // POST /publish, when a key is known.
      const publishUrl = effectiveUrls(loaded).publish
      const publishListen = gateway.publish.listen
      const publishPin = publishListen !== null ? publishListen.tls?.server?.certificate.fingerprint256 : pin
      const key = options.key ?? gateway.publish.keys[0] ?? readDevKey(Number(new URL(publishUrl).port || 80))
      if (key === undefined) {
        results.push({ step: 'http', status: 'skip', detail: 'POST /publish not tried: no key (ORO_WEBSOCKET_PUBLISH_KEYS or --key)' })
      } else {
        const payload = `oro-websocket-gateway check ${randomBytes(6).toString('hex')}`
        try {
          const res = await probeRequest(publishUrl, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
            body: JSON.stringify({ topic: PROBE_TOPIC, data: payload, eligible: [probe.sessionId] })
          }, timeoutMs, publishPin)
          if (res.status !== 202) {
            const code = /"code"\s*:\s*"([A-Z_]+)"/.exec(res.body)?.[1]
            results.push({ step: 'http', status: 'fail', detail: `POST ${publishUrl}: HTTP ${res.status} ${code ?? ''}`.trimEnd(), fix: code === 'GW_ERR_UNAUTHORIZED' ? 'the key is not one of the gateway\'s ORO_WEBSOCKET_PUBLISH_KEYS' : 'see the README\'s error table for the code' })
          } else {
            const arrived = await probe.waitForEvent(PROBE_TOPIC, payload, timeoutMs)
            results.push(arrived
              ? { step: 'http', status: 'ok', detail: `POST ${publishUrl}: 202, and the event reached the subscriber` }
              : { step: 'http', status: 'fail', detail: `POST ${publishUrl}: 202, but the event did not reach the subscriber ${probeVia}`, fix: 'with several nodes every node needs the same ORO_WEBSOCKET_BROKER_DSN' })
          }
        } catch (err) {
          const cause = probeError(err)
          results.push({ step: 'http', status: 'fail', detail: `POST ${publishUrl}: ${cause}`, fix: connectionFix(cause, publishUrl, 'ORO_WEBSOCKET_PUBLISH_LISTEN / ORO_WEBSOCKET_SERVER_DSN') })
        }
      }

      // The Oro bundle's own settings: its URL, its key, its CA, as the bundle uses them.
      if (bundleUsed) results.push(await bundleStep(bundle, loaded, probe, probeVia, timeoutMs))
    }
    if (!bundleUsed && loaded.appRoot !== undefined) {
      results.push({ step: 'bundle', status: 'skip', detail: `the Oro bundle is off: neither ${BUNDLE_DSN} nor ${BUNDLE_KEY} is set in ${loaded.envDir}'s .env-app files (or the environment); Oro publishes over ORO_WEBSOCKET_BACKEND_DSN` })
    }
  } finally {
    for (const close of open) close()
  }
  return results
}

/**
 * The `bundle` step: a probe POSTed to ORO_WEBSOCKET_PUBLISH_DSN with ORO_WEBSOCKET_PUBLISH_KEY,
 * with the DSN's ca_file / verify, as the Oro bundle (integrations/oro-bundle) sends its publishes,
 * delivered to the probe session only.
 */
async function bundleStep (bundle: ReturnType<typeof readBundleSettings>, loaded: LoadedConfig, probe: BrowserSession, probeVia: string, timeoutMs: number): Promise<StepResult> {
  const { dsn, key } = bundle
  if (dsn === undefined || key === undefined) {
    const set = (dsn ?? key) as { source: string }
    const missing = dsn === undefined ? BUNDLE_DSN : BUNDLE_KEY
    return { step: 'bundle', status: 'fail', detail: `${set.source} is set but ${missing} is not: the bundle keeps Oro's WAMP client`, fix: `set ${missing} in the application's .env-app.local (${missing === BUNDLE_KEY ? 'one of the gateway\'s ORO_WEBSOCKET_PUBLISH_KEYS' : `the gateway's POST /publish, e.g. ${effectiveUrls(loaded).publish}`}), or remove both to keep the bundle off` }
  }
  const target = parseBundleDsn(dsn.value, loaded.envDir)
  if ('problem' in target) return { step: 'bundle', status: 'fail', detail: `${dsn.source}: ${target.problem}`, fix: `set ${BUNDLE_DSN} to the gateway's POST /publish, e.g. ${effectiveUrls(loaded).publish}` }
  const badKey = keyProblem(key.value)
  if (badKey !== undefined) return { step: 'bundle', status: 'fail', detail: `${key.source} ${badKey}: the bundle sends nothing with it`, fix: `set ${BUNDLE_KEY} to one of the gateway's ORO_WEBSOCKET_PUBLISH_KEYS` }
  let ca: Buffer | undefined
  if (target.caFile !== undefined) {
    const read = readCa(target.caFile)
    if ('problem' in read) return { step: 'bundle', status: 'fail', detail: `${dsn.source}: ${read.problem}`, fix: `give the PEM file of the CA that signed the gateway's certificate, readable by PHP, in ?ca_file= (an absolute path: PHP's working directory varies)` }
    ca = read
  }
  const tls = target.url.startsWith('https:') ? (target.caFile !== undefined ? ` with ca_file=${target.caFile.given}` : target.verify ? ' with the system\'s CAs' : ' without certificate verification (verify=false)') : ''
  const shown = `POST ${target.url}${tls} (${dsn.source}, ${key.source})`
  const payload = `oro-websocket-gateway check bundle ${randomBytes(6).toString('hex')}`
  let res
  try {
    res = await bundleRequest(target.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key.value}`, 'idempotency-key': randomBytes(16).toString('hex') },
      body: JSON.stringify({ topic: PROBE_TOPIC, data: payload, eligible: [probe.sessionId] })
    }, timeoutMs, { ...(ca !== undefined ? { ca } : {}), verify: target.verify })
  } catch (err) {
    const cause = probeError(err)
    return { step: 'bundle', status: 'fail', detail: `${shown}: ${cause}`, fix: bundleConnectionFix(cause, target, BUNDLE_DSN, effectiveUrls(loaded).publish) }
  }
  if (res.status !== 202) {
    const code = /"code"\s*:\s*"([A-Z_]+)"/.exec(res.body)?.[1]
    const fix = code === 'GW_ERR_UNAUTHORIZED'
      ? `${key.source} is not one of the gateway's ORO_WEBSOCKET_PUBLISH_KEYS: set the same key on both sides`
      : code === undefined
        ? `HTTP ${res.status} is not the gateway's answer: point ${BUNDLE_DSN} at the gateway's POST /publish (this gateway's: ${effectiveUrls(loaded).publish})`
        : 'see the README\'s error table for the code'
    return { step: 'bundle', status: 'fail', detail: `${shown}: HTTP ${res.status} ${code ?? ''}`.trimEnd(), fix }
  }
  const arrived = await probe.waitForEvent(PROBE_TOPIC, payload, timeoutMs)
  return arrived
    ? { step: 'bundle', status: 'ok', detail: `${shown}: 202, and the event reached the subscriber` }
    : { step: 'bundle', status: 'fail', detail: `${shown}: 202, but the event did not reach the subscriber ${probeVia}`, fix: `${BUNDLE_DSN} points at another gateway than this one, or the nodes do not share ORO_WEBSOCKET_BROKER_DSN` }
}
