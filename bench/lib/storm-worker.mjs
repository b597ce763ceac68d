// A load-generator process for the reconnect storm: holds WAMP v1 sessions to one gateway and, when
// a session drops uncleanly or its connect is refused, reconnects it the way Oro's wamp.js does
// (oro-compat §6), by one of two rules (./wamp-js-rule.mjs, shared with the tests):
//   master   (BB-27637, unreleased): a retry every 2 s for the first 15 s, then retryDelay x attempt;
//   released (Oro 5.1 to 7.0.x): "connection lost" at once, retryDelay x attempt from the start
//            (60 s, 120 s, ...).
// Each retry goes with a fresh ticket and the cookies the server set (a small cookie jar, as a
// browser keeps); once connected, it subscribes again. Every page plays a browser: it connects
// through the trusted loopback proxy with X-Forwarded-For (its browser address), never as a backend
// (the TCP source is spread over 127.x.0.1 so 10,000 reconnects do not run out of ports).
// Driven by bench/storm.mjs over IPC ({ id, cmd, ... } → { id, ... }).
import WebSocket from 'ws'
import { makeTickets as makeTicketsOffThread } from './ticket-threads.mjs'
import { createReconnectRule } from './wamp-js-rule.mjs'

// The FRONTEND DSN's path, as a browser connects (the gateway's resume cookie has Path=/ws).
const PATH = '/ws'
let retryDelayMs = 60000
let rule = 'master'
const refusals = {}
// Attempts that failed without an HTTP answer, by cause (error code, or closed before the WELCOME).
const netFailures = {}

let sessions = []
let secret = ''
let port = 0
let reusedTickets = 0

const nowMs = () => Number(process.hrtime.bigint() / 1000n) / 1000 // CLOCK_MONOTONIC, as the runner

/**
 * A fresh ticket for every entry, made off this process's event loop (ticket-threads.mjs): the
 * sessions it holds keep answering the gateway's pings while thousands of tickets are made.
 */
function makeTickets (list) {
  return makeTicketsOffThread(secret, list, { threads: 1 })
}

function cookieHeader (s) {
  const now = Date.now()
  const pairs = []
  for (const [name, c] of s.jar) {
    if (c.expires !== null && c.expires <= now) { s.jar.delete(name); continue }
    if (c.secure) continue // ws:, not wss:: a browser would not send it
    if (c.path !== '/' && PATH !== c.path && !PATH.startsWith(`${c.path}/`)) continue
    pairs.push(`${name}=${c.value}`)
  }
  return pairs.join('; ')
}

function storeCookies (s, headers) {
  let list = headers['set-cookie']
  if (list === undefined) return
  if (!Array.isArray(list)) list = [list]
  for (const line of list) {
    const [pair, ...attrs] = line.split(';').map((x) => x.trim())
    const eq = pair.indexOf('=')
    if (eq < 1) continue
    const c = { value: pair.slice(eq + 1), path: '/', expires: null, secure: false }
    for (const attr of attrs) {
      const [k, v] = attr.split('=')
      const key = k.toLowerCase()
      if (key === 'path') c.path = v ?? '/'
      else if (key === 'max-age') c.expires = Date.now() + Number(v) * 1000
      else if (key === 'expires' && c.expires === null) c.expires = Date.parse(v)
      else if (key === 'secure') c.secure = true
    }
    if (c.expires !== null && c.expires <= Date.now()) s.jar.delete(pair.slice(0, eq))
    else s.jar.set(pair.slice(0, eq), c)
  }
}

/** One connection attempt: resolves 'ok', 'http' (the upgrade was answered with an error) or 'net'. */
function attempt (s, withTicket) {
  return new Promise((resolve) => {
    const headers = { Origin: 'http://localhost', 'X-Forwarded-For': s.browserAddress }
    const cookie = cookieHeader(s)
    if (cookie !== '') { headers.Cookie = cookie; s.sentCookie = true }
    const ws = new WebSocket(`ws://127.0.0.1:${port}${PATH}?ticket=${encodeURIComponent(withTicket)}`, ['wamp'], { perMessageDeflate: false, headers, localAddress: `127.${1 + (s.id % 250)}.0.1`, handshakeTimeout: 120000 })
    let settled = false
    const settle = (how) => { if (!settled) { settled = true; resolve(how) } }
    ws.on('upgrade', (res) => storeCookies(s, res.headers))
    ws.on('unexpected-response', (_req, res) => {
      storeCookies(s, res.headers)
      s.lastStatus = res.statusCode
      // Counted by status and GW_ERR_* code (from the JSON body): a 503 is a full queue, a wait
      // past ORO_WEBSOCKET_AUTH_MAX_WAIT or the database, and each has another cause.
      const storming = s.storming
      const chunks = []
      res.on('data', (chunk) => chunks.push(chunk))
      res.on('end', () => {
        let code = ''
        try { code = JSON.parse(Buffer.concat(chunks).toString()).code ?? '' } catch {}
        const key = code === '' ? String(res.statusCode) : `${res.statusCode} ${code}`
        if (storming) refusals[key] = (refusals[key] ?? 0) + 1
        ws.terminate()
        settle('http')
      })
    })
    ws.on('error', (err) => {
      if (!settled && s.storming) { const key = err.code ?? err.message.slice(0, 60); netFailures[key] = (netFailures[key] ?? 0) + 1 }
      settle('net')
    })
    ws.on('message', (buf) => {
      if (!settled && buf[1] === 48) { // [0, ...] WELCOME
        for (const topic of s.topics) ws.send(JSON.stringify([5, topic]))
        s.ws = ws
        settle('ok')
      }
    })
    ws.on('close', (code) => {
      if (!settled && s.storming) { const key = `closed ${code} before the WELCOME`; netFailures[key] = (netFailures[key] ?? 0) + 1 }
      settle('net')
      if (s.ws !== ws) return
      s.ws = null
      if (code === 1006) onDrop(s) // unclean: Oro reconnects; a clean close it does not (§6)
      else s.closedClean++
    })
  })
}

function onDrop (s) {
  if (!s.storming) return
  s.droppedAt = nowMs()
  s.backAt = null
  s.attempts = 0
  s.needFresh = false
  s.rule = createReconnectRule({ rule, retryDelay: retryDelayMs })
  schedule(s, s.rule.lost(s.droppedAt))
}

function schedule (s, next) {
  if (next.showLost) s.shownLost++
  setTimeout(() => retry(s), next.delay)
}

async function retry (s) {
  if (s.stopped) return
  s.attempts++
  // Oro fetches a new ticket for every retry: the one made before the storm, then a new one only
  // after an attempt the server answered (one it never saw, a refused connection, used none up).
  // Spares are made before the restart too: making tickets during the storm would starve this
  // process (13-30 ms each); when a session has used up its spares it sends its last one again.
  let t = s.nextTicket
  if (s.needFresh) {
    if (s.spares.length > 0) t = s.nextTicket = s.spares.pop()
    else reusedTickets++
  }
  const how = await attempt(s, t)
  if (how === 'ok') { s.backAt = nowMs(); s.rule.connected(); return }
  s.needFresh = how === 'http'
  if (how === 'http') s.httpRejections++
  schedule(s, s.rule.failed(nowMs()))
}

const handlers = {
  async prepare ({ plan, oroSecret, serverPort, reconnectRule, retryDelay, firstTickets = true }) {
    secret = oroSecret
    port = serverPort
    rule = reconnectRule ?? 'master'
    retryDelayMs = retryDelay ?? 60000
    const t0 = Date.now()
    sessions = plan.map((p) => ({ ...p, jar: new Map(), spares: [], ws: null, ticket: null, nextTicket: null, storming: false, stopped: false, droppedAt: null, backAt: null, attempts: 0, rule: null, shownLost: 0, httpRejections: 0, closedClean: 0, needFresh: false, sentCookie: false, lastStatus: 0 }))
    // An arriving crowd has no first connection: its tickets are prepareNext's.
    if (firstTickets) (await makeTickets(sessions)).forEach((t, i) => { sessions[i].ticket = t })
    return { ms: Date.now() - t0 }
  },
  async connect ({ concurrency }) {
    const t0 = Date.now()
    let next = 0
    let failed = 0
    async function lane () {
      while (next < sessions.length) {
        const s = sessions[next++]
        if (await attempt(s, s.ticket) !== 'ok') failed++
      }
    }
    await Promise.all(Array.from({ length: concurrency }, lane))
    return { connected: sessions.length - failed, failed, ms: Date.now() - t0 }
  },
  async prepareNext ({ spares }) {
    const t0 = Date.now()
    const made = await makeTickets(sessions.flatMap((s) => Array(1 + spares).fill(s)))
    sessions.forEach((s, i) => { s.nextTicket = made[i * (1 + spares)]; s.spares = made.slice(i * (1 + spares) + 1, (i + 1) * (1 + spares)) })
    return { ms: Date.now() - t0 }
  },
  arm ({ cookies }) {
    for (const s of sessions) {
      s.storming = true; s.sentCookie = false; s.httpRejections = 0
      // A cold storm (migration day, cookies expired): the pages come back without a cookie.
      if (cookies === false) s.jar.clear()
    }
    return {}
  },
  // A crowd arriving at a fresh node (migration day): every page lost its old server at this
  // instant and tries now, the way it retries after a drop (no session before, no cookie).
  arrive () {
    const at = nowMs()
    for (const s of sessions) {
      s.storming = true; s.droppedAt = at; s.backAt = null; s.attempts = 0; s.needFresh = false
      s.rule = createReconnectRule({ rule, retryDelay: retryDelayMs })
      s.rule.begin(at) // the loss happened elsewhere; its first try is now
      retry(s)
    }
    return {}
  },
  status () {
    let back = 0
    let dropped = 0
    for (const s of sessions) { if (s.droppedAt !== null) dropped++; if (s.backAt !== null) back++ }
    return { back, dropped, total: sessions.length }
  },
  report () {
    return {
      sessions: sessions.map((s) => [s.droppedAt, s.backAt, s.attempts, s.httpRejections, s.sentCookie ? 1 : 0, s.user === null ? 0 : 1, s.shownLost]),
      reusedTickets,
      refusals,
      netFailures,
      closedClean: sessions.reduce((a, s) => a + s.closedClean, 0)
    }
  },
  closeAll () {
    for (const s of sessions) { s.stopped = true; s.ws?.terminate() }
    return {}
  },
  exit: () => { setImmediate(() => process.exit(0)); return {} }
}

process.on('message', async (msg) => {
  const result = await handlers[msg.cmd](msg)
  process.send({ id: msg.id, ...result })
})
