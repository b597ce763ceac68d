// The naive broadcast server with the one optimisation any `ws` user can add: each socket is corked
// on its first send of an event-loop turn and uncorked when the turn ends (setImmediate), so all
// the frames a socket gets in one turn leave in one writev; and the message is made a Buffer once,
// not once per subscriber. Otherwise as naive-ws.mjs.
import { WebSocketServer } from 'ws'

const port = Number(process.env.PORT ?? 8093)
const topics = new Map()
const wss = new WebSocketServer({ host: '127.0.0.1', port, perMessageDeflate: false, clientTracking: false })

let corked = []
function uncorkAll () {
  const sockets = corked
  corked = []
  for (const socket of sockets) { socket.corkedThisTurn = false; socket.uncork() }
}

function send (ws, message) {
  const socket = ws._socket
  if (!socket.corkedThisTurn) {
    socket.corkedThisTurn = true
    socket.cork()
    if (corked.push(socket) === 1) setImmediate(uncorkAll)
  }
  ws.send(message)
}

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
    const message = Buffer.from(JSON.stringify([8, topic, payload])) // serialized and encoded once
    for (const client of set) send(client, message)
  })
  ws.on('close', () => {
    for (const topic of mine) topics.get(topic)?.delete(ws)
  })
})
wss.on('listening', () => process.send?.('ready'))
