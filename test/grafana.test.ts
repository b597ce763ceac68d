// deploy/grafana/'s dashboard: every PromQL query (panels and variables) names only series the
// gateway exports, scraped from a running gateway (a histogram as its _bucket, _sum, _count).
import { test } from 'tap'
import { readFileSync, readdirSync } from 'node:fs'
import { startApp } from './helpers/app.js'
import { connectWamp } from './helpers/wamp-client.js'
import { parseTypes, readmeMetrics } from './helpers/prometheus.js'

// PromQL words that are not metric names.
const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'bool', 'offset'])
// Exported only with ORO_DB_URL (test/metrics-database.test.ts); the README's table says so.
const CONDITIONAL = new Set(['oro_ws_database_up'])

/** The metric names a PromQL expression reads. */
export function metricNames (expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""') // strings (label values, regexes)
    .replace(/\{[^}]*\}/g, '') // label matchers
    .replace(/\[[^\]]*\]/g, '') // ranges
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '') // label lists
    .replace(/\$\w+/g, '') // Grafana variables
  const names: string[] = []
  for (const match of bare.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const word = match[0]
    const rest = bare.slice((match.index ?? 0) + word.length)
    if (/^\s*\(/.test(rest) || KEYWORDS.has(word)) continue // a function or an operator
    names.push(word)
  }
  return names
}

interface Query { where: string, expr: string }

function queries (dashboard: { panels?: unknown[], templating?: { list?: unknown[] } }, file: string): Query[] {
  const found: Query[] = []
  const panels = (dashboard.panels ?? []) as Array<{ title?: string, targets?: Array<{ expr?: string }>, panels?: unknown[] }>
  for (const panel of panels) {
    for (const target of panel.targets ?? []) if (typeof target.expr === 'string') found.push({ where: `${file}: panel "${panel.title ?? ''}"`, expr: target.expr })
    if (panel.panels !== undefined) found.push(...queries({ panels: panel.panels }, file)) // rows
  }
  for (const variable of (dashboard.templating?.list ?? []) as Array<{ name?: string, type?: string, query?: unknown }>) {
    if (variable.type !== 'query') continue
    const text = typeof variable.query === 'string' ? variable.query : (variable.query as { query?: string } | undefined)?.query
    const inner = /^label_values\((.*),\s*\w+\)$/.exec(text ?? '')
    if (inner !== null) found.push({ where: `${file}: variable $${variable.name ?? ''}`, expr: inner[1] as string })
  }
  return found
}

test('metricNames reads the names of a PromQL expression', async (t) => {
  t.same(metricNames('histogram_quantile(0.99, sum by (le) (rate(a_bucket{job=~"$job",x="y z"}[$__rate_interval])))'), ['a_bucket'])
  t.same(metricNames('sum(rate(a_sum[5m])) / sum(rate(a_count[5m]))'), ['a_sum', 'a_count'])
  t.same(metricNames('min by (instance) (oro_ws_ready{job=~"$job"}) or on (instance) up'), ['oro_ws_ready', 'up'])
})

test('every query of the Grafana dashboards names a series the gateway exports', async (t) => {
  const dir = new URL('../deploy/grafana/', import.meta.url)
  const files = readdirSync(dir).filter((f) => f.endsWith('.json'))
  t.ok(files.length > 0, 'deploy/grafana/ has a dashboard')

  const gw = await startApp(t)
  const client = await connectWamp(`${gw.wsUrl}/`)
  t.teardown(() => client.close())
  client.subscribe('grafana/probe')
  await client.sync()
  client.publish('grafana/probe', 1)
  await client.waitForEvents(1)
  const types = parseTypes(await (await fetch(`${gw.url}/metrics`)).text())
  const exported = new Set<string>()
  for (const [family, type] of types) {
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) exported.add(family + suffix)
    else exported.add(family)
  }
  const documented = new Set(readmeMetrics().map((m) => m.name))

  const used = new Set<string>()
  for (const file of files) {
    const dashboard = JSON.parse(readFileSync(new URL(file, dir), 'utf8')) as Parameters<typeof queries>[0]
    const found = queries(dashboard, file)
    t.ok(found.length > 10, `${file}: ${found.length} queries`)
    for (const { where, expr } of found) {
      const names = metricNames(expr)
      t.ok(names.length > 0, `${where}: reads a metric`)
      for (const name of names) {
        used.add(name)
        if (CONDITIONAL.has(name)) t.ok(documented.has(name), `${where}: ${name} (exported with a database) is in the README's table`)
        else t.ok(exported.has(name), `${where}: ${name} is exported`)
      }
    }
  }
  // What the dashboard must show (issue 12): each of these is read by some query.
  for (const needed of ['oro_ws_connections', 'oro_ws_events_delivered_total', 'oro_ws_publish_requests_total', 'oro_ws_sessions_dropped_total',
    'oro_ws_upgrades_rejected_total', 'oro_ws_publish_to_write_seconds_bucket', 'oro_ws_upgrade_auth_seconds_bucket', 'nodejs_eventloop_lag_p99_seconds',
    'process_resident_memory_bytes', 'oro_ws_broker_up', 'oro_ws_database_up']) {
    t.ok(used.has(needed), `the dashboard shows ${needed}`)
  }
})
