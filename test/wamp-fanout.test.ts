import { test } from 'tap'
import WebSocket from 'ws'
import { startApp } from './helpers/app.js'
import { TEST_ORIGIN, connectWamp } from './helpers/wamp-client.js'

const SUBSCRIBERS = 1000
const EVENTS = 1000

test(`${SUBSCRIBERS} subscribers on one topic each receive all ${EVENTS} events, in order`, async (t) => {
  const { wsUrl } = await startApp(t, {}, 'dev', 'warn')
  let complete = 0
  let outOfOrder = 0
  let allDone: () => void = () => {}
  const done = new Promise<void>((resolve) => { allDone = resolve })
  const clients: WebSocket[] = []
  await Promise.all(Array.from({ length: SUBSCRIBERS }, () => new Promise<void>((resolve, reject) => {
    const ws = new WebSocket(wsUrl, ['wamp'], { perMessageDeflate: false, origin: TEST_ORIGIN })
    clients.push(ws)
    let next = -1 // -1: waiting for WELCOME
    ws.on('error', reject)
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as [number, string, number]
      if (next === -1) {
        ws.send('[5,"fanout"]')
        ws.send('[2,"ready","x"]') // answered after the SUBSCRIBE is handled
        next = 0
        return
      }
      if (frame[0] === 4) { resolve(); return }
      if (frame[2] !== next) outOfOrder++
      next = frame[2] + 1
      if (next === EVENTS && ++complete === SUBSCRIBERS) allDone()
    })
  })))
  t.teardown(() => { for (const ws of clients) ws.terminate() })

  const publisher = await connectWamp(wsUrl)
  t.teardown(() => publisher.close())
  for (let i = 0; i < EVENTS; i++) publisher.publish('fanout', i)
  const timeout = setTimeout(() => allDone(), 120_000)
  await done
  clearTimeout(timeout)
  t.equal(complete, SUBSCRIBERS, 'every subscriber got every event')
  t.equal(outOfOrder, 0, 'in publish order, none missing or repeated')
})
