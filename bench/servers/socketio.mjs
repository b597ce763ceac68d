// Socket.IO 4, the way many Node users do pub/sub: one room per topic, io.to(room).emit(). Clients
// name their rooms in the handshake query (?topics=a,b); a publisher emits ('publish', topic, data)
// and the room gets ('event', topic, data). WebSocket transport only, no compression.
import { createServer } from 'node:http'
import { Server } from 'socket.io'

const port = Number(process.env.PORT ?? 8091)
const httpServer = createServer((_req, res) => { res.writeHead(404).end() })
const io = new Server(httpServer, { transports: ['websocket'], perMessageDeflate: false, httpCompression: false, serveClient: false })

io.on('connection', (socket) => {
  const topics = String(socket.handshake.query.topics ?? '').split(',').filter(Boolean)
  if (topics.length > 0) socket.join(topics)
  socket.on('publish', (topic, data) => { io.to(topic).emit('event', topic, data) })
})
httpServer.listen(port, '127.0.0.1', () => process.send?.('ready'))
