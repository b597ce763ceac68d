// How events reach each server: POST /publish or a backend WAMP session for the gateway, a plain
// `ws` connection for the naive server, a Socket.IO client (spoken over `ws`) for Socket.IO.
// publish(topic, json) takes the event's data as JSON text; pending() resolves when every
// publication was handed over (HTTP answered, WebSocket frames flushed).
import http from 'node:http'
import WebSocket from 'ws'

function wsPublisher (url, options, frame, ready) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, options.protocols ?? [], { perMessageDeflate: false, headers: options.headers, localAddress: options.localAddress })
    ws.on('error', reject)
    const publisher = {
      publish (topic, json) { ws.send(frame(topic, json)) },
      pending: () => new Promise((resolve) => {
        const check = () => ws.bufferedAmount === 0 ? resolve() : setTimeout(check, 5)
        check()
      }),
      close: async () => { ws.terminate() }
    }
    ws.on('message', (buf) => {
      const text = buf.toString()
      if (text === '2') { ws.send('3'); return } // engine.io ping
      const answer = ready(text, ws)
      if (answer === true) resolve(publisher)
    })
    if (ready === null) ws.on('open', () => resolve(publisher))
  })
}

export async function openPublisher (kind, { port, ticket, key }) {
  switch (kind) {
    case 'http': {
      // Enough sockets that requests never queue in the agent: with 8, a slow round trip (three
      // nodes on Redis, a busy machine) made requests wait for a socket, and that wait was
      // counted as the gateway's latency.
      const agent = new http.Agent({ keepAlive: true, maxSockets: 64 })
      const inflight = new Set()
      const headers = { 'content-type': 'application/json', authorization: `Bearer ${key}` }
      let failures = 0
      return {
        publish (topic, json) {
          const body = `{"topic":${JSON.stringify(topic)},"data":${json}}`
          const done = new Promise((resolve) => {
            const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/publish', agent, headers: { ...headers, 'content-length': Buffer.byteLength(body) } }, (res) => {
              if (res.statusCode !== 202) failures++
              res.resume()
              res.on('end', resolve)
            })
            req.on('error', () => { failures++; resolve() })
            req.end(body)
          })
          inflight.add(done)
          done.then(() => inflight.delete(done))
          return done
        },
        pending: () => Promise.all(inflight),
        get failures () { return failures },
        close: async () => { agent.destroy() }
      }
    }
    case 'wamp':
      return wsPublisher(`ws://127.0.0.1:${port}/?ticket=${encodeURIComponent(ticket)}`,
        // The backend: from 127.0.0.1, the bench's ORO_WEBSOCKET_BACKEND_NETWORKS.
        { protocols: ['wamp'], headers: { Origin: 'http://localhost' }, localAddress: '127.0.0.1' },
        (topic, json) => `[7,${JSON.stringify(topic)},${json}]`,
        (text) => text.startsWith('[0,'))
    case 'ws':
      return wsPublisher(`ws://127.0.0.1:${port}/`, {}, (topic, json) => `[7,${JSON.stringify(topic)},${json}]`, null)
    case 'sio':
      return wsPublisher(`ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket`, {},
        (topic, json) => `42["publish",${JSON.stringify(topic)},${json}]`,
        (text, ws) => {
          if (text.startsWith('0{')) ws.send('40')
          return text.startsWith('40')
        })
    default:
      throw new Error(`unknown publisher ${kind}`)
  }
}
