// Oro's wamp.js reconnect rule (SyncBundle Resources/public/js/sync/wamp.js on autobahn 0.8;
// oro-compat §6), one copy for the benches (bench/lib/storm-worker.mjs) and the tests
// (test/helpers/wamp-js-page.ts). Only the decision lives here: when the next attempt comes and
// whether the page shows "connection lost"; the sockets are the caller's.
//
//   released (Oro 5.1 to 7.0.x, every release so far): onHangup shows "connection lost" at once
//     and retries after retryCount x retryDelay (retryDelay: 60000 in sync_js.html.twig), after an
//     unclean loss and after every failed connect: 60 s, then 120 s, 180 s ...
//   master (since Aug 2026, BB-27637, no tag yet): retries silently every keepReconnectRetryDelay
//     (2 s) while keepReconnectTimeout (15 s) has not passed since the loss, then as released.
//
// A clean close (a completed closing handshake, whatever the code) is CONNECTION_CLOSED: no rule
// applies, the page never reconnects until it is reloaded. Each attempt fetches a new ticket first
// and, once welcomed, subscribes to its channels again (the caller's part).

/** Oro's own delays, in ms. */
export const ORO_DELAYS = Object.freeze({ retryDelay: 60000, keepReconnectRetryDelay: 2000, keepReconnectTimeout: 15000 })

export const RULES = Object.freeze(['master', 'released'])

/**
 * One page's reconnect state under `rule`. Every delay is Oro's (or the one given) x `scale`, so
 * tests can run the rule in a fraction of the time with the same shape.
 *   lost(now)    an unclean loss (TCP dropped, no closing handshake)  → the next attempt
 *   failed(now)  a failed connect (refused at TCP level, or the upgrade answered 4xx/5xx) → the next attempt
 *   begin(now)   a first connect starts now, no loss before it (a page loaded): its failure
 *                counts from here
 *   connected()  welcomed: the counters start again
 * An attempt is { delay (ms until it), showLost (the page shows "connection lost" now), retryCount }.
 * `now` is any monotonic clock in ms.
 */
export function createReconnectRule ({ rule = 'master', scale = 1, retryDelay = ORO_DELAYS.retryDelay, keepReconnectRetryDelay = ORO_DELAYS.keepReconnectRetryDelay, keepReconnectTimeout = ORO_DELAYS.keepReconnectTimeout } = {}) {
  if (!RULES.includes(rule)) throw new Error(`the wamp.js reconnect rule is master or released, not ${rule}`)
  if (!(scale > 0)) throw new Error(`scale must be above 0, not ${scale}`)
  const delays = Object.freeze({ retryDelay: retryDelay * scale, keepReconnectRetryDelay: keepReconnectRetryDelay * scale, keepReconnectTimeout: keepReconnectTimeout * scale })
  let lostAt = null
  let retryCount = 0
  const next = (now) => {
    if (lostAt === null) lostAt = now
    if (rule === 'master' && now - lostAt < delays.keepReconnectTimeout) return { delay: delays.keepReconnectRetryDelay, showLost: false, retryCount }
    retryCount++
    return { delay: delays.retryDelay * retryCount, showLost: true, retryCount }
  }
  return {
    rule,
    delays,
    begin (now) { lostAt = now; retryCount = 0 },
    lost (now) { lostAt = now; retryCount = 0; return next(now) },
    failed (now) { return next(now) },
    connected () { lostAt = null; retryCount = 0 }
  }
}
