// Counters and gauges the gateway keeps, rendered in Prometheus' text format at GET /metrics.
// Plain numbers on one object: incrementing one on a hot path costs a property write.

export const counters = {
  connectionsOpened: 0,
  connectionsClosed: 0,
  protocolErrors: 0,
  oversizeFrames: 0,
  slowConsumerDrops: 0,
  deadPeerDrops: 0,
  subscribesRefused: 0,
  publishesRefused: 0,
  publishesReceived: 0,
  publishesDropped: 0,
  publishesUnconfirmed: 0,
  eventsDelivered: 0,
  upgradesRejected: 0,
  sessionFaults: 0,
  publishPauses: 0,
  fanoutYields: 0
}

export type CounterName = keyof typeof counters

const HELP: Record<CounterName, string> = {
  connectionsOpened: 'WebSocket sessions opened',
  connectionsClosed: 'WebSocket sessions closed, for any reason',
  protocolErrors: 'Sessions closed with 1007 for a frame that is not WAMP v1',
  oversizeFrames: 'Sessions closed with 1009 for a frame over the inbound limit',
  slowConsumerDrops: 'Sessions dropped because their unsent bytes passed the cap',
  deadPeerDrops: 'Sessions dropped after missing two pings in a row',
  subscribesRefused: 'SUBSCRIBE messages refused (no route, private topic, limits)',
  publishesRefused: 'PUBLISH messages refused (not a backend session, no route, server-only topic)',
  publishesReceived: 'Publications accepted (WAMP PUBLISH and POST /publish)',
  publishesDropped: 'Publications accepted from WAMP that the broker could not take',
  publishesUnconfirmed: 'Publications accepted from WAMP that Redis took but did not confirm (maybe delivered)',
  eventsDelivered: 'EVENT frames written to local sessions',
  upgradesRejected: 'WebSocket upgrades refused before the handshake (auth, origin, draining)',
  sessionFaults: 'Sessions closed with 1011 because handling them failed (a bug; the log has the error)',
  publishPauses: 'Times a WAMP publisher stopped being read: over ORO_WEBSOCKET_PUBLISH_RATE_LIMIT or ORO_WEBSOCKET_MAX_PENDING_PUBLISHES',
  fanoutYields: 'Times delivery paused for a turn of the event loop so other work is served (large fan-outs)'
}

function snake (name: string): string {
  return name.replace(/[A-Z]/g, (c) => '_' + c.toLowerCase())
}

export function renderMetrics (gauges: Record<string, { help: string, value: number }>): string {
  const lines: string[] = []
  for (const [name, value] of Object.entries(counters) as Array<[CounterName, number]>) {
    const metric = `oro_ws_${snake(name)}_total`
    lines.push(`# HELP ${metric} ${HELP[name]}`, `# TYPE ${metric} counter`, `${metric} ${value}`)
  }
  for (const [name, gauge] of Object.entries(gauges)) {
    const metric = `oro_ws_${name}`
    lines.push(`# HELP ${metric} ${gauge.help}`, `# TYPE ${metric} gauge`, `${metric} ${gauge.value}`)
  }
  return lines.join('\n') + '\n'
}
