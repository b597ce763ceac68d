// Loopback helpers shared by the benchmark scripts: a free port, and waiting until one listens.
import { createServer, connect } from 'node:net'
import { once } from 'node:events'

export async function freePort () {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address()
  server.close()
  return port
}

/** Resolves once 127.0.0.1:port accepts a TCP connection; throws if child exits or after timeoutMs. */
export async function waitListening (port, child, timeoutMs = 20000, stepMs = 100) {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (child !== undefined && child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`)
    const ok = await new Promise((resolve) => {
      const socket = connect(port, '127.0.0.1')
      socket.on('connect', () => { socket.destroy(); resolve(true) })
      socket.on('error', () => resolve(false))
    })
    if (ok) return
    await new Promise((resolve) => setTimeout(resolve, stepMs))
  }
  throw new Error(`server did not listen on ${port}`)
}
