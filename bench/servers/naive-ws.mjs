// The naive broadcast server: what a developer writes first with the `ws` library. Clients name
// their topics in the query string (?topics=a,b); a publisher sends WAMP-style [7, topic, data]
// and every subscriber of the topic gets [8, topic, data], serialized once and ws.send() to each.
import { WebSocketServer } from 'ws'

const port = Number(process.env.PORT ?? 8090)
const topics = new Map()
const wss = new WebSocketServer({ host: '127.0.0.1', port, perMessageDeflate: false, clientTracking: false })

wss.on('connection', (ws, request) => {
  const query = new URL(request.url, 'http://x').searchParams
  const mine = (query.get('topics') ?? '').split(',').filter(Boolean)
  for (const topic of mine) {
    let set = topics.get(topic)
    if (set === undefined) topics.set(topic, (set = new Set()))
    set.add(ws)
  }
  ws.on('message', (data) => {
    const [, topic, payload] = JSON.parse(data)
    const set = topics.get(topic)
    if (set === undefined) return
    const message = JSON.stringify([8, topic, payload])
    for (const client of set) client.send(message)
  })
  ws.on('close', () => {
    for (const topic of mine) topics.get(topic)?.delete(ws)
  })
})
wss.on('listening', () => process.send?.('ready'))
