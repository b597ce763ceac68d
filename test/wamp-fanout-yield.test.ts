// A large fan-out yields to the event loop: a health check sent while a batch of 200 events goes
// to 1,000 subscribers is answered before the batch is done, events keep their order, and the
// count of recipients stays true. Heavy (1,000 connections): its own file.
import { test } from 'tap'
import { startApp } from './helpers/app.js'
import WebSocket from 'ws'
import { TEST_ORIGIN, connectWamp } from './helpers/wamp-client.js'
import { Hub } from '../src/broker/hub.js'

test('hub: queued deliveries keep their order across broadcast, deliver and deliverAll', async (t) => {
  const hub = new Hub({ writesPerTurn: 3 })
  const got: string[] = []
  // Merged writes carry consecutive frames (2-byte headers: the payloads are small).
  const client = {
    id: 'c',
    write: (frame: Buffer) => {
      for (let at = 0; at < frame.length; at += 2 + (frame[at + 1] as number)) got.push(JSON.parse(frame.subarray(at + 2, at + 2 + (frame[at + 1] as number)).toString())[2] as string)
      return true
    }
  }
  hub.addClient(client)
  hub.subscribe('t', client)
  const pub = (n: number): { topic: string, payload: string } => ({ topic: 't', payload: JSON.stringify(String(n)) })
  hub.broadcast(pub(1))
  const two = hub.deliver(pub(2))
  const three = hub.deliverAll([pub(3)])
  const later = hub.deliverAll([pub(4), pub(5), pub(6), pub(7)])
  hub.broadcast(pub(8))
  const last = hub.deliver(pub(9))
  t.same(got, [], 'nothing is written before the end of the turn')
  await new Promise((resolve) => setImmediate(resolve))
  t.same(got, ['1', '2', '3'], 'the budget of a turn is spent')
  t.equal(hub.queued, 6)
  t.same(await Promise.all([two, three]), [1, 1])
  t.equal(await later, 4, 'the batch resolves with its true count')
  t.equal(await last, 1)
  t.same(got, ['1', '2', '3', '4', '5', '6', '7', '8', '9'], 'in the order handed over')
  t.equal(hub.queued, 0)
})

test('a health check is served while 200 events go to 1,000 subscribers; order and count kept', async (t) => {
  const { app, wsUrl, url } = await startApp(t, {}, 'dev', 'warn')
  const SUBSCRIBERS = 1000
  const EVENTS = 200
  // Subscribers that stop reading once subscribed: each gets 200 small frames (a few KB, well
  // under the cap), so the test process spends its time on the gateway, not on clients.
  const clients: WebSocket[] = []
  t.teardown(() => { for (const ws of clients) ws.terminate() })
  for (let i = 0; i < SUBSCRIBERS - 1; i += 100) {
    await Promise.all(Array.from({ length: Math.min(100, SUBSCRIBERS - 1 - i) }, () => new Promise<void>((resolve, reject) => {
      const ws = new WebSocket(wsUrl, ['wamp'], { perMessageDeflate: false, origin: TEST_ORIGIN })
      clients.push(ws)
      ws.once('error', reject)
      ws.once('message', () => { // the WELCOME
        ws.send('[5,"fan"]')
        ws.pause()
        resolve()
      })
    })))
  }
  const observer = await connectWamp(wsUrl)
  t.teardown(() => observer.close())
  observer.subscribe('fan')
  await observer.sync()
  while (app.hub.subscriberCount('fan') < SUBSCRIBERS) await new Promise((resolve) => setImmediate(resolve))

  const order: string[] = []
  await (await fetch(`${url}/healthz`)).text() // the client's connection is open and pooled: the next request is one round trip
  const yieldsBefore = app.stats.fanoutYields
  const batch = Array.from({ length: EVENTS }, (_, i) => ({ topic: 'fan', payload: String(i) }))
  // The batch's first part is written before publishBatch returns; the rest takes many turns of
  // the event loop. The health check is sent right after, so it arrives during the fan-out.
  const delivered = app.broker.publishBatch(batch).then((receipt) => { order.push('batch delivered'); return receipt })
  const healthz = fetch(`${url}/healthz`).then((res) => { order.push(`healthz ${res.status}`) })
  const receipt = await delivered
  await healthz
  t.same(order, ['healthz 200', 'batch delivered'], 'the health check was answered before the fan-out ended')
  t.ok(app.stats.fanoutYields > yieldsBefore, 'the fan-out yielded')
  t.equal(receipt.recipients, SUBSCRIBERS * EVENTS, 'the recipients count is true')
  t.same(await observer.waitForEvents(EVENTS, 'fan', 60_000), batch.map((_, i) => i), 'in order')
})
