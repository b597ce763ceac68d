// The results as an SVG of grouped bars, one panel per figure; no dependencies.
const COLORS = { 'gateway-http': '#2b6cb0', 'gateway-wamp': '#63b3ed', centrifuge: '#38a169', 'naive-ws': '#dd6b20', 'naive-ws-corked': '#f6ad55', socketio: '#718096', 'bare-fastify': '#a0aec0' }

function esc (s) { return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;') }

function panel (x, y, w, h, title, unit, groups, names, labels) {
  // groups: [{ label, values: { server: number } }]
  const max = Math.max(1e-9, ...groups.flatMap((g) => names.map((n) => g.values[n] ?? 0)))
  const out = [`<text x="${x}" y="${y + 14}" font-size="13" font-weight="bold">${esc(title)}</text>`]
  const top = y + 28; const bottom = y + h - 22; const height = bottom - top
  const gw = w / groups.length
  const bw = Math.min(26, (gw - 16) / names.length)
  groups.forEach((g, gi) => {
    const gx = x + gi * gw + (gw - bw * names.length) / 2
    names.forEach((n, ni) => {
      const v = g.values[n]
      if (v === undefined || v === null) return
      const bh = Math.max(1, v / max * height)
      const bx = gx + ni * bw
      out.push(`<rect x="${bx.toFixed(1)}" y="${(bottom - bh).toFixed(1)}" width="${(bw - 2).toFixed(1)}" height="${bh.toFixed(1)}" fill="${COLORS[n]}"><title>${esc(labels[n] ?? n)}: ${v.toFixed(2)} ${esc(unit)}</title></rect>`)
      out.push(`<text x="${(bx + bw / 2 - 1).toFixed(1)}" y="${(bottom - bh - 3).toFixed(1)}" font-size="8" text-anchor="middle">${v >= 100 ? Math.round(v) : v.toFixed(1)}</text>`)
    })
    out.push(`<text x="${(x + gi * gw + gw / 2).toFixed(1)}" y="${bottom + 14}" font-size="10" text-anchor="middle">${esc(g.label)}</text>`)
  })
  out.push(`<line x1="${x}" y1="${bottom}" x2="${x + w}" y2="${bottom}" stroke="#333"/>`)
  out.push(`<text x="${x + w}" y="${y + 14}" font-size="10" text-anchor="end" fill="#555">${esc(unit)}</text>`)
  return out.join('\n')
}

export function renderChart (out, servers) {
  const r = out.results
  const med = (s, n, k) => r[s]?.[n]?.[k]?.median ?? (typeof r[s]?.[n]?.[k] === 'number' ? r[s][n][k] : undefined)
  const labels = { ...Object.fromEntries(Object.entries(servers).map(([k, v]) => [k, v.label])), 'bare-fastify': 'bare Fastify 202 route' }
  const fan = ['gateway-http', 'gateway-wamp', 'centrifuge', 'naive-ws', 'naive-ws-corked', 'socketio']
  const W = 900; const H = 560
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif">`, `<rect width="${W}" height="${H}" fill="white"/>`]
  parts.push(`<text x="20" y="22" font-size="15" font-weight="bold">Fan-out benchmark: ${esc(out.machine.cpu)} x${out.machine.cores}, Node ${esc(out.machine.node)}, ${esc(out.date.slice(0, 10))}${out.settings.quick ? ' (quick)' : ''}</text>`)
  const scen = [['rate', '1k subs fixed rate'], ['single', '1k subs single events'], ['burst', '1k subs burst'], ['wide', 'wide burst'], ['topics', 'topics burst']]
  parts.push(panel(20, 40, 520, 240, 'Server CPU per delivery (lower is better)', 'µs', scen.map(([s, l]) => ({ label: l, values: Object.fromEntries(fan.map((n) => [n, med(s, n, 'cpuUsPerDelivery')])) })), fan, labels))
  parts.push(panel(580, 40, 300, 240, 'Latency at a fixed rate', 'ms', [['p50Ms', 'p50'], ['p99Ms', 'p99']].map(([k, l]) => ({ label: l, values: Object.fromEntries(fan.map((n) => [n, med('rate', n, k)])) })), fan, labels))
  parts.push(panel(20, 300, 520, 220, 'Deliveries per second (thousands; load generator shares the cores)', 'k/s', scen.map(([s, l]) => ({ label: l, values: Object.fromEntries(fan.map((n) => { const v = med(s, n, 'deliveriesPerSecond'); return [n, v === undefined ? undefined : v / 1000] })) })), fan, labels))
  const memNames = ['gateway-wamp', 'centrifuge', 'naive-ws', 'naive-ws-corked', 'socketio']
  const idle = [['rssFirstMB', 'MB, 1st conn'], ['rssPerConnectionKB', 'KB/conn']].map(([k, l]) => ({ label: l, values: Object.fromEntries(memNames.map((n) => [n, r.idle?.[n]?.[k]])) }))
  parts.push(panel(580, 300, 140, 220, 'Idle memory', '', idle, memNames, labels))
  const rps = { label: 'POST /publish', values: { 'gateway-http': (med('rps', 'gateway-http', 'rps') ?? 0) / 1000, 'bare-fastify': (med('rps', 'bare-fastify', 'rps') ?? 0) / 1000 } }
  parts.push(panel(740, 300, 140, 220, 'Requests/s', 'k/s', [rps], ['gateway-http', 'bare-fastify'], labels))
  let lx = 20
  for (const n of [...fan, 'bare-fastify']) {
    labels[n] = labels[n].replace(/, .*$/, '')
    parts.push(`<rect x="${lx}" y="${H - 22}" width="12" height="12" fill="${COLORS[n]}"/><text x="${lx + 16}" y="${H - 12}" font-size="11">${esc(labels[n])}</text>`)
    lx += 125
  }
  parts.push('</svg>')
  return parts.join('\n') + '\n'
}
