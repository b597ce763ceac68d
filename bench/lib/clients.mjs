// One subscriber connection of each kind the benchmark speaks: WAMP v1 with an Oro ticket (the
// gateway), plain `ws` with topics in the query (the naive servers), Socket.IO's protocol spoken
// over `ws`, and Centrifuge's JSON protocol. Resolves with { ws, probed, seen, ready } once the
// subscriptions are sent (or null when the connection failed); onFrame(client, buf) gets every
// frame after that.
import WebSocket from 'ws'

// Per kind: the URL, the client options, and what the first frames mean.
export function openClient (kind, { port, ticket, topics, localAddress }, onFrame) {
  return new Promise((resolve) => {
    const client = { ws: null, probed: false, seen: null, ready: false }
    let url
    const options = { perMessageDeflate: false, localAddress }
    if (kind === 'wamp') {
      url = `ws://127.0.0.1:${port}/?ticket=${encodeURIComponent(ticket)}`
      options.headers = { Origin: 'http://localhost' }
    } else if (kind === 'ws') {
      url = `ws://127.0.0.1:${port}/?topics=${encodeURIComponent(topics.join(','))}`
    } else if (kind === 'centrifuge') {
      url = `ws://127.0.0.1:${port}/connection/websocket`
    } else {
      url = `ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket&topics=${encodeURIComponent(topics.join(','))}`
    }
    const ws = new WebSocket(url, kind === 'wamp' ? ['wamp'] : [], options)
    client.ws = ws
    const done = (ok) => { if (!client.ready) { client.ready = true; resolve(ok ? client : null) } }
    ws.on('error', () => done(false))
    ws.on('close', () => done(false))
    if (kind === 'ws') ws.on('open', () => done(true))
    // Centrifuge's JSON protocol: a connect command (method 0, omitted), then one subscribe
    // command (method 1) per channel; publications arrive as {"result":{"channel","data":{"data"}}}.
    let pendingReplies = topics.length + 1
    if (kind === 'centrifuge') {
      ws.on('open', () => {
        let frame = '{"id":1,"params":{}}'
        topics.forEach((topic, i) => { frame += `\n{"id":${i + 2},"method":1,"params":{"channel":${JSON.stringify(topic)}}}` })
        ws.send(frame)
      })
    }
    ws.on('message', (buf) => {
      if (client.ready) {
        if (kind === 'sio' && buf.length === 1 && buf[0] === 50) { ws.send('3'); return } // engine.io ping
        onFrame(client, buf)
        return
      }
      if (kind === 'centrifuge') {
        for (const line of buf.toString().split('\n')) {
          if (line.startsWith('{"id":')) {
            if (line.includes('"error"')) { done(false); return }
            pendingReplies--
          }
        }
        if (pendingReplies <= 0) done(true)
        onFrame(client, buf)
      } else if (kind === 'wamp') {
        if (buf[1] === 48) { // [0, ...] WELCOME
          for (const topic of topics) ws.send(JSON.stringify([5, topic]))
          done(true)
        }
      } else if (kind === 'sio') {
        if (buf[0] === 48) ws.send('40') // engine.io open → socket.io connect
        else if (buf[0] === 52 && buf[1] === 48) done(true) // 40: connected
      }
    })
  })
}

