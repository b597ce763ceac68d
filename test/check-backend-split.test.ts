// The check's backend step against a proxy that writes the 101 and the WELCOME apart (as nginx
// does: the header flush, then what it read after it). Oro's PHP client fails such a handshake;
// the check retries, warns when a later attempt came whole, and fails when every attempt split.
import { test, type Test } from 'tap'
import { createConnection, createServer, type Server } from 'node:net'
import { startApp } from './helpers/app.js'
import { doctor, line, SECRET } from './helpers/doctor.js'

/** A TCP proxy to `port` that splits the answer of its first `splitFirst` connections after the headers. */
async function splittingProxy (port: number, splitFirst: number): Promise<{ server: Server, port: number }> {
  let connections = 0
  const server = createServer((client) => {
    const split = ++connections <= splitFirst
    const upstream = createConnection({ host: '127.0.0.1', port })
    client.pipe(upstream)
    let first = true
    upstream.on('data', (chunk: Buffer) => {
      const end = chunk.indexOf('\r\n\r\n')
      if (!first || !split || end === -1 || end + 4 === chunk.length) { client.write(chunk); first = false; return }
      first = false
      client.write(chunk.subarray(0, end + 4))
      const rest = chunk.subarray(end + 4)
      setTimeout(() => client.write(rest), 100)
    })
    upstream.on('error', () => client.destroy())
    client.on('error', () => upstream.destroy())
    upstream.on('close', () => client.destroy())
    client.on('close', () => upstream.destroy())
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  return { server, port: typeof address === 'object' && address !== null ? address.port : 0 }
}

async function run (t: Test, splitFirst: number): Promise<{ code: number, stdout: string }> {
  const gateway = await startApp(t, { ORO_SECRET: SECRET, ORO_WEBSOCKET_PUBLISH_KEYS: 'k' }, 'prod', 'warn')
  const proxy = await splittingProxy(gateway.port, splitFirst)
  t.teardown(() => { proxy.server.close() })
  const env = { ORO_SECRET: SECRET, ORO_WEBSOCKET_SERVER_DSN: `//127.0.0.1:${gateway.port}`, ORO_WEBSOCKET_BACKEND_DSN: `tcp://127.0.0.1:${proxy.port}`, ORO_WEBSOCKET_FRONTEND_DSN: `//*:${gateway.port}/ws` }
  return await doctor(env, [])
}

test('one split answer, then a whole one: a warning that names the split and the fix', async (t) => {
  const result = await run(t, 1)
  t.match(line(result.stdout, 'backend'), /^warn +backend .*: 101 \+ WELCOME in the first read on attempt 2; 1 attempt\(s\) before came split .*-> fix: Oro's PHP client fails a split handshake .*point ORO_WEBSOCKET_BACKEND_DSN at the gateway itself/)
  t.match(line(result.stdout, 'publish'), /^ok/, 'the backend session of the second attempt publishes')
})

test('every answer split: the step fails with the fix', async (t) => {
  const result = await run(t, 1000)
  t.equal(result.code, 1)
  t.match(line(result.stdout, 'backend'), /^FAIL +backend .*the 101 came without the WELCOME in the same read -> fix: .*point ORO_WEBSOCKET_BACKEND_DSN at the gateway itself/)
})

test('no split: ok', async (t) => {
  const result = await run(t, 0)
  t.match(line(result.stdout, 'backend'), /^ok +backend .*101 \+ WELCOME in the first read, as Oro's PHP client needs/)
})
