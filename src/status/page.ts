// The status page (GET /status): one self-contained HTML document, no external resources (the
// gateway may run where nothing outside is reachable). Inline CSS and script, charts drawn as
// inline SVG; it polls status.json (relative, so it works behind a path prefix) every second,
// sending the page's ?key= as a Bearer header. Text from the gateway (topic names, reasons) is
// only ever set as textContent. The Content-Security-Policy allows exactly this script and style
// (by hash) and requests to the page's own origin.
import { createHash } from 'node:crypto'

const STYLE = `
:root { color-scheme: light; --fg: #1d2430; --muted: #5b6575; --line: #dde2ea; --card: #fff; --bg: #f3f5f8;
  --ok: #16794c; --bad: #b42318; --warn: #9a6700; --a: #2563eb; --b: #d97706; --c: #7c3aed; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; flex-wrap: wrap; align-items: baseline; gap: 4px 16px; padding: 14px 20px; background: var(--card); border-bottom: 1px solid var(--line); }
h1 { font-size: 18px; margin: 0; }
h2 { font-size: 13px; font-weight: 600; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); margin: 0 0 8px; }
main { padding: 16px 20px; display: grid; gap: 14px; }
.row { display: grid; gap: 14px; }
.stats { grid-template-columns: repeat(auto-fit, minmax(160px, 1fr)); }
.charts { grid-template-columns: repeat(auto-fit, minmax(360px, 1fr)); }
.tables { grid-template-columns: 2fr 1fr 1fr; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; }
.big { font-size: 28px; font-weight: 600; font-variant-numeric: tabular-nums; }
.sub { color: var(--muted); font-size: 12px; }
.muted { color: var(--muted); }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; color: #fff; background: var(--muted); }
.ok { color: var(--ok); } .bad { color: var(--bad); }
.badge.ok { color: #fff; background: var(--ok); } .badge.bad { color: #fff; background: var(--bad); }
#banner { display: none; padding: 8px 20px; background: #fef3f2; color: var(--bad); border-bottom: 1px solid #fecdca; }
#banner.show { display: block; }
table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
td { padding: 3px 0; border-bottom: 1px solid var(--line); vertical-align: top; }
td.n { text-align: right; padding-left: 12px; white-space: nowrap; }
td.t { word-break: break-all; }
.chart { position: relative; height: 140px; margin-top: 4px; }
.chart svg { width: 100%; height: 100%; display: block; background: linear-gradient(var(--line) 1px, transparent 1px) 0 0 / 100% 25%; border: 1px solid var(--line); }
.axis { display: flex; justify-content: space-between; color: var(--muted); font-size: 11px; }
.legend span { margin-right: 14px; } .legend i { display: inline-block; width: 10px; height: 3px; margin: 0 5px 3px 0; vertical-align: middle; }
.la { background: var(--a); } .lb { background: var(--b); } .lc { background: var(--c); }
@media (max-width: 800px) { .tables { grid-template-columns: 1fr; } }
`

const SCRIPT = `
'use strict'
const key = new URLSearchParams(location.search).get('key')
const $ = (id) => document.getElementById(id)
const number = (n) => n >= 100 ? Math.round(n).toLocaleString('en') : String(Math.round(n * 10) / 10)
const duration = (s) => s < 120 ? s + ' s' : s < 7200 ? Math.floor(s / 60) + ' min' : s < 172800 ? Math.floor(s / 3600) + ' h' : Math.floor(s / 86400) + ' d'
function set (id, text) { const el = $(id); if (el.textContent !== text) el.textContent = text }
function state (id, text, good) { const el = $(id); set(id, text); el.className = good ? 'ok' : 'bad' }
function rows (id, entries, empty) {
  const body = $(id)
  body.replaceChildren()
  if (entries.length === 0) { const tr = body.insertRow(); const td = tr.insertCell(); td.className = 'muted'; td.textContent = empty; return }
  for (const [name, value] of entries) {
    const tr = body.insertRow()
    const a = tr.insertCell(); a.className = 't'; a.textContent = name
    const b = tr.insertCell(); b.className = 'n'; b.textContent = number(value)
  }
}
function line (svg, values, max, cls) {
  const n = values.length
  let path = svg.querySelector('polyline.' + cls)
  const points = values.map((v, i) => (n < 2 ? 0 : (i / (n - 1)) * 1000).toFixed(1) + ',' + (100 - (max > 0 ? v / max : 0) * 96).toFixed(2)).join(' ')
  path.setAttribute('points', points)
}
function scale (max) {
  if (max <= 0) return 1
  const p = Math.pow(10, Math.floor(Math.log10(max)))
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= max) return m * p
  return 10 * p
}
function chart (id, series, history) {
  const svg = $(id)
  const max = scale(Math.max(0, ...series.flatMap((s) => s[0])))
  for (const [values, cls] of series) line(svg, values, max, cls)
  set(id + '-max', number(max))
  const span = history.ages.length > 0 ? history.ages[0] + history.intervalSeconds : 0
  set(id + '-span', span > 0 ? '-' + duration(Math.round(span)) : 'collecting…')
}
function render (s) {
  $('banner').className = ''
  const ready = $('ready'); ready.textContent = s.ready ? 'ready' : 'not ready (' + s.state + ')'; ready.className = 'badge ' + (s.ready ? 'ok' : 'bad')
  set('version', 'v' + s.version)
  set('uptime', 'up ' + duration(s.uptimeSeconds))
  set('updated', 'updated ' + new Date(s.time).toLocaleTimeString('en-GB'))
  set('connections-total', number(s.connections.total))
  set('connections-split', s.connections.browser + ' browser · ' + s.connections.backend + ' backend')
  set('subscriptions-total', number(s.subscriptions.total))
  set('subscriptions-split', s.topics.count + ' topics · ' + s.subscriptions.backend + ' by backends')
  set('rate-publishes', number(s.rates.publishes))
  set('total-publishes', number(s.totals.publishes) + ' since start')
  set('rate-deliveries', number(s.rates.deliveries))
  set('total-deliveries', number(s.totals.deliveries) + ' since start')
  state('broker-state', s.broker.state, s.broker.state === 'ok')
  set('broker-kind', s.broker.kind)
  set('broker-nodes', s.broker.nodes === null ? 'nodes: not known' : 'nodes: ' + s.broker.nodes)
  if (s.database === null) { set('database-state', 'not used'); $('database-state').className = 'muted' } else state('database-state', s.database, s.database === 'ok')
  set('database-note', s.database === null ? 'no ORO_DB_DSN or ORO_DB_URL: anonymous tickets only' : 'Oro users (ORO_DB_DSN or ORO_DB_URL)')
  set('rate-dropped', number(s.rates.sessionsDropped) + ' / s now')
  set('rate-refused', number(s.rates.upgradesRefused) + ' / s now')
  rows('topics', s.topics.top.map((t) => [t.topic, t.subscribers]), 'no subscriptions')
  rows('drops', Object.entries(s.drops).filter((e) => e[1] > 0), 'none')
  rows('refusals', Object.entries(s.refusals).filter((e) => e[1] > 0), 'none')
  const h = s.history
  chart('traffic', [[h.deliveries, 'a'], [h.publishes, 'b']], h)
  chart('sessions', [[h.connections, 'c']], h)
}
async function poll () {
  try {
    const response = await fetch('status.json', { cache: 'no-store', headers: key ? { authorization: 'Bearer ' + key } : {} })
    if (response.status === 401) throw new Error('the key is missing or wrong: open this page as status?key=YOUR_KEY (ORO_WEBSOCKET_STATUS_KEY)')
    if (!response.ok) throw new Error('status.json answered ' + response.status)
    render(await response.json())
  } catch (err) {
    set('banner', err instanceof TypeError ? 'the gateway is not answering; retrying…' : err.message)
    $('banner').className = 'show'
  }
  setTimeout(poll, 1000)
}
poll()
`

const BODY = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>oro-websocket-gateway status</title>
<style>${STYLE}</style>
</head>
<body>
<header>
  <h1>oro-websocket-gateway</h1>
  <span id="ready" class="badge">loading…</span>
  <span id="version" class="sub"></span>
  <span id="uptime" class="sub"></span>
  <span id="updated" class="sub"></span>
</header>
<div id="banner" role="alert"></div>
<main>
<div class="row stats">
  <section class="card"><h2>Connections</h2><div id="connections-total" class="big">–</div><div id="connections-split" class="sub"></div></section>
  <section class="card"><h2>Subscriptions</h2><div id="subscriptions-total" class="big">–</div><div id="subscriptions-split" class="sub"></div></section>
  <section class="card"><h2>Publishes / s</h2><div id="rate-publishes" class="big">–</div><div id="total-publishes" class="sub"></div></section>
  <section class="card"><h2>Deliveries / s</h2><div id="rate-deliveries" class="big">–</div><div id="total-deliveries" class="sub"></div></section>
  <section class="card"><h2>Broker</h2><div class="big"><span id="broker-state">–</span></div><div class="sub"><span id="broker-kind"></span> · <span id="broker-nodes"></span></div></section>
  <section class="card"><h2>Database</h2><div class="big"><span id="database-state">–</span></div><div id="database-note" class="sub"></div></section>
</div>
<div class="row charts">
  <section class="card">
    <h2>Deliveries and publishes per second</h2>
    <div class="legend sub"><span><i class="la"></i>deliveries/s</span><span><i class="lb"></i>publishes/s</span><span>scale 0 – <b id="traffic-max">–</b></span></div>
    <div class="chart"><svg id="traffic" viewBox="0 0 1000 100" preserveAspectRatio="none" aria-label="deliveries and publishes per second">
      <polyline class="a" fill="none" stroke="#2563eb" stroke-width="2" vector-effect="non-scaling-stroke" points=""/>
      <polyline class="b" fill="none" stroke="#d97706" stroke-width="2" vector-effect="non-scaling-stroke" points=""/>
    </svg></div>
    <div class="axis"><span id="traffic-span"></span><span>now</span></div>
  </section>
  <section class="card">
    <h2>Connections</h2>
    <div class="legend sub"><span><i class="lc"></i>open sessions</span><span>scale 0 – <b id="sessions-max">–</b></span></div>
    <div class="chart"><svg id="sessions" viewBox="0 0 1000 100" preserveAspectRatio="none" aria-label="open sessions">
      <polyline class="c" fill="none" stroke="#7c3aed" stroke-width="2" vector-effect="non-scaling-stroke" points=""/>
    </svg></div>
    <div class="axis"><span id="sessions-span"></span><span>now</span></div>
  </section>
</div>
<div class="row tables">
  <section class="card"><h2>Top topics (subscribers on this node)</h2><table><tbody id="topics"></tbody></table></section>
  <section class="card"><h2>Sessions dropped</h2><div id="rate-dropped" class="sub"></div><table><tbody id="drops"></tbody></table></section>
  <section class="card"><h2>Upgrades refused</h2><div id="rate-refused" class="sub"></div><table><tbody id="refusals"></tbody></table></section>
</div>
</main>
<script>${SCRIPT}</script>
</body>
</html>
`

const hash = (text: string): string => `'sha256-${createHash('sha256').update(text).digest('base64')}'`

export const STATUS_PAGE_HTML = BODY

/** Only this page's own script and style run; it may fetch from its own origin only. */
export const STATUS_PAGE_CSP = [
  "default-src 'none'",
  `script-src ${hash(SCRIPT)}`,
  `style-src ${hash(STYLE)}`,
  "connect-src 'self'",
  'img-src data:',
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'"
].join('; ')
