// An Oro page's WebSocket life as its wamp.js lives it (oro-compat §6), over a real socket: fetch a
// ticket, connect with it, subscribe its channels once welcomed; after an unclean loss or a failed
// connect, show "connection lost" or not and retry when the rule says (bench/lib/wamp-js-rule.mjs,
// the copy bench/storm.mjs uses too), each retry with a new ticket; after a clean close (a
// completed closing handshake, any code) never again. It records what the page lived through, for
// tests to assert on instead of wall-clock times. Not a browser: no cookies are kept.
import WebSocket from 'ws'
import { createReconnectRule, type NextAttempt, type ReconnectRule, type ReconnectRuleName } from '../../bench/lib/wamp-js-rule.mjs'

export type { ReconnectRuleName }

export interface Attempt {
  /** 'welcome': connected; 'refused': the upgrade was answered with an HTTP error; 'unreachable': no upgrade (TCP refused or reset, no WELCOME). */
  outcome: 'welcome' | 'refused' | 'unreachable'
  /** The HTTP status of a refused upgrade. */
  status?: number
  /** The GW_ERR_* code of a refused upgrade's JSON body. */
  code?: string
}

export interface Hangup {
  /** The WebSocket close code the page saw (1006: the TCP connection ended without a close frame). */
  code: number
  /** A completed closing handshake: CONNECTION_CLOSED, wamp.js does not reconnect. */
  clean: boolean
}

export interface WampJsPageOptions {
  /** ws://host:port/path; the ticket is added as ?ticket=. */
  url: string
  rule: ReconnectRuleName
  /** Every wamp.js delay x scale (1: Oro's own 60 s, 2 s, 15 s). */
  scale: number
  /** Subscribed at every WELCOME. */
  channels: string[]
  /** Oro's POST to the sync ticket URL, once before every attempt. */
  fetchTicket: (page: WampJsPage) => Promise<string>
  /** The page's address (a browser: never a backend network). */
  localAddress?: string
  headers?: Record<string, string>
}

export interface WampJsPage {
  readonly rule: ReconnectRule
  readonly connected: boolean
  /** A clean close ended it: it never reconnects. */
  readonly closedForGood: boolean
  /** Every connect attempt, first connection included. */
  readonly attempts: Attempt[]
  /** Every scheduled retry: its delay (ms) and whether "connection lost" showed when it was scheduled. */
  readonly retries: NextAttempt[]
  /** Times "connection lost" was shown. */
  readonly lostShown: number
  readonly ticketsFetched: number
  readonly hangups: Hangup[]
  /** Events ([topic, data]) with the number of the connection (1 = first WELCOME) that received them. */
  readonly events: Array<{ topic: string, data: unknown, connection: number }>
  readonly welcomes: number
  /** Resolves once `test` holds (checked after everything the page records); rejects after timeoutMs. */
  until: (test: (page: WampJsPage) => boolean, what: string, timeoutMs?: number) => Promise<void>
  /** Closes the page (a tab closed): no more retries. */
  stop: () => void
}

export function openWampJsPage (options: WampJsPageOptions): WampJsPage {
  const rule = createReconnectRule({ rule: options.rule, scale: options.scale })
  const attempts: Attempt[] = []
  const retries: NextAttempt[] = []
  const hangups: Hangup[] = []
  const events: WampJsPage['events'] = []
  const waiters = new Set<() => void>()
  const now = (): number => performance.now()
  let ws: WebSocket | null = null
  let connected = false
  let closedForGood = false
  let stopped = false
  let lostShown = 0
  let ticketsFetched = 0
  let welcomes = 0
  let timer: NodeJS.Timeout | undefined

  const changed = (): void => { for (const w of [...waiters]) w() }

  const schedule = (next: NextAttempt): void => {
    retries.push(next)
    if (next.showLost) lostShown++
    changed()
    if (!stopped) timer = setTimeout(() => { void connect() }, next.delay)
  }

  const connect = async (): Promise<void> => {
    if (stopped) return
    ticketsFetched++
    let ticket: string
    try {
      ticket = await options.fetchTicket(page)
    } catch {
      // No ticket (the application did not answer): wamp.js never connects, and tries again.
      attempts.push({ outcome: 'unreachable' })
      schedule(rule.failed(now()))
      return
    }
    if (stopped) return
    const socket = new WebSocket(`${options.url}?ticket=${encodeURIComponent(ticket)}`, ['wamp'], {
      headers: { Origin: 'http://localhost', ...options.headers },
      localAddress: options.localAddress,
      perMessageDeflate: false
    })
    ws = socket
    let settled = false
    const fail = (attempt: Attempt): void => {
      if (settled) return
      settled = true
      attempts.push(attempt)
      schedule(rule.failed(now()))
    }
    socket.on('unexpected-response', (_req, res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        let code: string | undefined
        try { code = (JSON.parse(Buffer.concat(chunks).toString()) as { code?: string }).code } catch {}
        fail({ outcome: 'refused', status: res.statusCode ?? 0, ...(code !== undefined ? { code } : {}) })
        socket.terminate()
      })
    })
    socket.on('error', () => { fail({ outcome: 'unreachable' }) })
    socket.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as unknown[]
      if (!settled) {
        if (frame[0] !== 0) return
        settled = true
        connected = true
        welcomes++
        attempts.push({ outcome: 'welcome' })
        rule.connected()
        for (const channel of options.channels) socket.send(JSON.stringify([5, channel]))
      } else if (frame[0] === 8) {
        events.push({ topic: frame[1] as string, data: frame[2], connection: welcomes })
      }
      changed()
    })
    socket.on('close', (code) => {
      if (!settled) { fail({ outcome: 'unreachable' }); return }
      if (!connected || ws !== socket) return
      connected = false
      // ws reports 1006 when the TCP connection ended without a close frame: autobahn's
      // CONNECTION_LOST; any completed closing handshake is CONNECTION_CLOSED.
      const clean = code !== 1006
      hangups.push({ code, clean })
      if (clean) { closedForGood = true; changed(); return }
      schedule(rule.lost(now()))
    })
  }

  const page: WampJsPage = {
    rule,
    get connected () { return connected },
    get closedForGood () { return closedForGood },
    attempts,
    retries,
    get lostShown () { return lostShown },
    get ticketsFetched () { return ticketsFetched },
    hangups,
    events,
    get welcomes () { return welcomes },
    until: async (test, what, timeoutMs = 60_000) => await new Promise<void>((resolve, reject) => {
      const check = (): void => {
        if (!test(page)) return
        waiters.delete(check)
        clearTimeout(giveUp)
        resolve()
      }
      const giveUp = setTimeout(() => {
        waiters.delete(check)
        reject(new Error(`a ${options.rule} page: ${what} did not happen within ${timeoutMs} ms; attempts ${JSON.stringify(attempts)}, hangups ${JSON.stringify(hangups)}`))
      }, timeoutMs)
      waiters.add(check)
      check()
    }),
    stop: () => {
      stopped = true
      clearTimeout(timer)
      ws?.terminate()
    }
  }
  void connect()
  return page
}
