// The per-socket writer's states, on a real net.Socket pair (loopback) and on a socket whose
// peer does not read: first frame straight out, the rest of a turn corked, every turn ended once,
// re-entrant writes never left corked, and the backlog counting only earlier turns.
import { test } from 'tap'
import { once } from 'node:events'
import { createServer, connect, type Socket } from 'node:net'
import { setImmediate as nextTurn } from 'node:timers/promises'
import { SocketWriter, WriteScheduler, type WritableSocket } from '../src/wamp/socket-writer.js'

async function socketPair (t: { teardown (fn: () => unknown): void }): Promise<{ server: Socket, client: Socket }> {
  const listener = createServer()
  listener.listen(0, '127.0.0.1')
  await once(listener, 'listening')
  const address = listener.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  const accepted = once(listener, 'connection') as Promise<[Socket]>
  const client = connect(port, '127.0.0.1')
  const [server] = await accepted
  t.teardown(() => { client.destroy(); server.destroy(); listener.close() })
  return { server, client }
}

/** Records what the writer does to its socket. */
function recordingSocket (): WritableSocket & { calls: string[], corks: number } {
  const calls: string[] = []
  const sock = {
    calls,
    corks: 0,
    writableLength: 0,
    write (chunk: Buffer) { calls.push(`write ${chunk.toString()}`); return true },
    cork () { sock.corks++; calls.push('cork') },
    uncork () { sock.corks--; calls.push('uncork') }
  }
  return sock as unknown as WritableSocket & { calls: string[], corks: number }
}

test('states: the first frame of a turn leaves at once, the rest of the turn is corked and leaves at its end', async (t) => {
  let clock = 0
  const scheduler = new WriteScheduler({ now: () => clock })
  const sock = recordingSocket()
  const writer = new SocketWriter(sock, scheduler)
  t.equal(writer.state, 'idle')
  writer.write(Buffer.from('a'))
  t.equal(writer.state, 'wrote', 'first frame: written, not corked')
  t.same(sock.calls, ['write a'])
  writer.write(Buffer.from('b'))
  writer.write(Buffer.from('c'))
  t.equal(writer.state, 'corked', 'second frame corks')
  t.same(sock.calls, ['write a', 'cork', 'write b', 'write c'])
  t.equal(scheduler.pending, 1, 'joined the turn once')
  await nextTurn()
  t.equal(writer.state, 'idle', 'the turn ended by itself')
  t.equal(sock.corks, 0, 'uncorked')
  t.equal(scheduler.pending, 0)

  // Within BURST_MS of the last turn: the first frame is held too (one writev per turn).
  writer.write(Buffer.from('d'))
  t.equal(writer.state, 'corked', 'a burst across turns holds the first frame')
  await nextTurn()
  clock += 10
  writer.write(Buffer.from('e'))
  t.equal(writer.state, 'wrote', 'after a pause the first frame leaves at once again')
  scheduler.endTurn()
  t.equal(sock.corks, 0, 'every cork has its uncork')
})

test('a write made while a turn ends joins the next turn and is not left corked', async (t) => {
  const scheduler = new WriteScheduler()
  const other = recordingSocket()
  const otherWriter = new SocketWriter(other, scheduler)
  const sock = recordingSocket()
  let reentered = false
  // Uncorking this socket writes to another one (as a synchronous 'drain' or error path could).
  sock.uncork = () => {
    sock.corks--
    if (!reentered) {
      reentered = true
      otherWriter.write(Buffer.from('x'))
      otherWriter.write(Buffer.from('y'))
    }
  }
  const writer = new SocketWriter(sock, scheduler)
  writer.write(Buffer.from('1'))
  writer.write(Buffer.from('2'))
  await nextTurn()
  t.ok(reentered)
  t.equal(otherWriter.state, 'corked', 'the re-entrant writes are in a new turn')
  t.equal(scheduler.pending, 1, 'which is scheduled')
  await nextTurn()
  t.equal(otherWriter.state, 'idle')
  t.equal(other.corks, 0, 'and uncorked when it ends')
})

test('one failing socket does not leave the others corked', async (t) => {
  const errors: unknown[] = []
  const scheduler = new WriteScheduler({ onError: (err) => errors.push(err) })
  const bad = recordingSocket()
  bad.uncork = () => { throw new Error('uncork failed') }
  const good = recordingSocket()
  const badWriter = new SocketWriter(bad, scheduler)
  const goodWriter = new SocketWriter(good, scheduler)
  for (const w of [badWriter, goodWriter]) { w.write(Buffer.from('a')); w.write(Buffer.from('b')) }
  await nextTurn()
  t.equal(good.corks, 0, 'the good socket was uncorked')
  t.equal(errors.length, 1, 'the failure was reported')
  t.equal(badWriter.state, 'idle')
})

test('backlog: bytes held in this turn do not count; what the kernel left from earlier turns does', async (t) => {
  const { server, client } = await socketPair(t)
  client.pause() // the peer never reads
  const scheduler = new WriteScheduler()
  const writer = new SocketWriter(server, scheduler)
  const frame = Buffer.alloc(64 * 1024, 0x61)
  for (let i = 0; i < 200; i++) writer.write(frame) // 12.8 MB in one turn
  t.ok(server.writableLength > 10 * 1024 * 1024, 'the socket holds the turn\'s bytes')
  t.equal(writer.backlog, 0, 'none of them is backlog yet')
  await nextTurn()
  t.ok(writer.backlog > 1024 * 1024, `after the turn, what the kernel did not take is backlog (${writer.backlog} bytes)`)
  t.equal(writer.backlog, server.writableLength)
  const before = writer.backlog
  writer.write(frame)
  t.equal(writer.backlog, before, 'a new turn\'s frame is not backlog')
})

test('during a fan-out the turn is held open (frames stay together), at most holdMs', async (t) => {
  let clock = 0
  let busy = true
  const scheduler = new WriteScheduler({ now: () => clock, holdWhile: () => busy, holdMs: 50 })
  const sock = recordingSocket()
  const writer = new SocketWriter(sock, scheduler)
  writer.write(Buffer.from('a'))
  t.equal(writer.state, 'corked', 'while holding, even the first frame waits')
  await nextTurn()
  t.equal(writer.state, 'corked', 'the fan-out goes on: still held')
  writer.write(Buffer.from('b'))
  clock += 60
  await nextTurn() // first held at 0, now 60: past holdMs
  t.equal(writer.state, 'idle', 'held no longer than holdMs')
  t.equal(sock.corks, 0)
  writer.write(Buffer.from('c'))
  await nextTurn()
  t.equal(writer.state, 'corked', 'a new hold')
  busy = false
  await nextTurn()
  t.equal(writer.state, 'idle', 'the fan-out ended: the frames leave')
  t.same(sock.calls.filter((c) => c.startsWith('write')), ['write a', 'write b', 'write c'], 'in order')
})

test('largestUnsent: the longest large write the kernel has not taken, forgotten once taken', async (t) => {
  const scheduler = new WriteScheduler({ largeFrameBytes: 100 })
  const sock = recordingSocket()
  const writer = new SocketWriter(sock, scheduler)
  // The stand-in socket holds what it is given until the test says the kernel took it.
  sock.write = (chunk: Buffer) => { (sock as { writableLength: number }).writableLength += chunk.length; return true }
  const take = (bytes: number): void => { (sock as { writableLength: number }).writableLength -= bytes }
  t.equal(writer.largestUnsent, 0, 'nothing written')
  writer.write(Buffer.alloc(50))
  t.equal(writer.largestUnsent, 0, 'a write under largeFrameBytes is not noted')
  writer.write(Buffer.alloc(400))
  writer.write(Buffer.alloc(300))
  writer.write(Buffer.alloc(200))
  writer.write(Buffer.alloc(10))
  t.equal(writer.largestUnsent, 400)
  take(50 + 399)
  t.equal(writer.largestUnsent, 400, 'counted until its last byte is taken')
  take(1)
  t.equal(writer.largestUnsent, 300, 'then the next largest still unsent')
  take(300 + 200)
  t.equal(writer.largestUnsent, 0, 'all taken: none (the small one left does not count)')
  writer.write(Buffer.alloc(150))
  writer.write(Buffer.alloc(250))
  t.equal(writer.largestUnsent, 250, 'a larger later write replaces the smaller ones before it')
  take(10 + 150)
  t.equal(writer.largestUnsent, 250)
  take(250)
  t.equal(writer.largestUnsent, 0)
  await nextTurn()

  // Across turns: what is unsent when a turn ends is still known in the next ones.
  writer.write(Buffer.alloc(500))
  await nextTurn()
  writer.write(Buffer.alloc(120))
  await nextTurn()
  writer.write(Buffer.alloc(20))
  t.equal(writer.largestUnsent, 500, 'a large write of an earlier turn')
  take(499)
  await nextTurn()
  t.equal(writer.largestUnsent, 500, 'still, until its last byte is taken')
  take(1)
  t.equal(writer.largestUnsent, 120, 'then the next one')
  take(120)
  t.equal(writer.largestUnsent, 0)
  t.equal(writer.backlog, 20, 'the small one is backlog')
  await nextTurn()
})

test('largestUnsent on a real socket whose peer does not read: a large write stays noted, and leaves once read', async (t) => {
  const { server, client } = await socketPair(t)
  client.pause()
  const writer = new SocketWriter(server, new WriteScheduler())
  const big = Buffer.alloc(32 * 1024 * 1024)
  writer.write(big)
  await nextTurn()
  t.ok(server.writableLength > 0, 'the kernel did not take all of it')
  t.equal(writer.largestUnsent, big.length, 'it counts whole while any of it is unsent')
  t.ok(writer.backlog > 0, 'and it is backlog')
  let read = 0
  client.on('data', (chunk: Buffer) => { read += chunk.length })
  client.resume()
  while (read < big.length) await nextTurn()
  t.equal(writer.largestUnsent, 0, 'all read: forgotten')
  t.equal(writer.backlog, 0)
})
