// A real redis-server for a test, on a free port, started and stopped by the test itself (so it
// can simulate an outage), without persistence. Missing binary: skip locally, fail under CI.
import { spawn, type ChildProcess } from 'node:child_process'
import { connect, createServer, type Socket } from 'node:net'
import { Redis } from 'ioredis'
import { findBinary, freePort, serviceOptions } from './services.js'

export const redisBinary = findBinary('redis-server')

/** tap options for a test that needs redis-server. */
export function redisOptions (): { skip?: string } {
  return serviceOptions(redisBinary !== undefined, 'redis-server', 'apt-get install redis-server')
}

export interface RedisServer {
  port: number
  dsn: string
  /** A plain client for looking at the server (PUBSUB, keys). */
  client: Redis
  /** Stops the server (SIGTERM) and resolves once the process is gone. */
  stop (): Promise<void>
  /** Starts it again on the same port and resolves once it accepts connections. */
  start (): Promise<void>
  /**
   * Freezes the process (SIGSTOP): connections stay open, commands sent to it wait in its socket
   * buffers and are executed on resume (SIGCONT), as with a Redis stalled by the host.
   */
  pause (): void
  resume (): void
  /** The channels anyone is subscribed to, sorted. */
  channels (pattern?: string): Promise<string[]>
  /** How many connections subscribe to a channel. */
  subscribers (channel: string): Promise<number>
}

interface Teardown { teardown (fn: () => unknown): void }

export async function startRedis (t: Teardown): Promise<RedisServer> {
  if (redisBinary === undefined) throw new Error('redis-server is not installed')
  const port = await freePort()
  let child: ChildProcess | null = null

  const start = (): Promise<void> => new Promise((resolve, reject) => {
    const proc = spawn(redisBinary, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] })
    child = proc
    let output = ''
    const onData = (chunk: Buffer): void => {
      output += chunk.toString()
      if (output.includes('Ready to accept connections')) {
        proc.stdout.off('data', onData)
        proc.stdout.resume()
        resolve()
      }
    }
    proc.stdout.on('data', onData)
    proc.stderr.resume()
    proc.once('exit', (code) => reject(new Error(`redis-server exited (${code ?? 'signal'}) before it was ready: ${output.slice(-500)}`)))
  })

  const stop = async (): Promise<void> => {
    const proc = child
    child = null
    if (proc === null || proc.exitCode !== null) return
    const exited = new Promise((resolve) => proc.once('exit', resolve))
    proc.kill('SIGTERM')
    await exited
  }

  await start()
  const client = new Redis({ port, host: '127.0.0.1', lazyConnect: false, maxRetriesPerRequest: null, retryStrategy: () => 50 })
  client.on('error', () => {})
  t.teardown(async () => {
    client.disconnect()
    ;(child as ChildProcess | null)?.kill('SIGCONT') // a paused server would not exit on SIGTERM
    await stop()
  })
  return {
    port,
    dsn: `redis://127.0.0.1:${port}`,
    client,
    stop,
    start,
    pause: () => { (child as ChildProcess | null)?.kill('SIGSTOP') },
    resume: () => { (child as ChildProcess | null)?.kill('SIGCONT') },
    channels: async (pattern = '*') => ((await client.pubsub('CHANNELS', pattern)) as string[]).sort(),
    subscribers: async (channel) => {
      const reply = await client.pubsub('NUMSUB', channel) as Array<string | number>
      return Number(reply[1] ?? 0)
    }
  }
}

/** Waits until `check` is true, trying every few ms: for state that lives in another process. */
export async function until (check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

export interface RedisClusterServers {
  dsn: string
  ports: number[]
  /** A client on one master, for CLUSTER and PUBSUB SHARDCHANNELS. */
  clientOf (port: number): Redis
}

/**
 * Distinct free ports whose cluster bus ports (port + 10000) exist and are free too: two calls to
 * freePort() may return the same port, and a port above 55535 has no bus port.
 */
async function clusterPorts (count: number): Promise<number[]> {
  const ports: number[] = []
  for (let tries = 0; ports.length < count && tries < 200; tries++) {
    const port = await freePort()
    if (port > 55535 || ports.includes(port) || ports.includes(port + 10000) || ports.includes(port - 10000)) continue
    if (!(await canBind(port + 10000))) continue
    ports.push(port)
  }
  if (ports.length < count) throw new Error('no free ports for a Redis Cluster')
  return ports
}

function canBind (port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
}

/** Three masters, no replicas, all slots assigned (redis-cli --cluster create). */
export async function startRedisCluster (t: Teardown, dir: string): Promise<RedisClusterServers> {
  if (redisBinary === undefined) throw new Error('redis-server is not installed')
  const ports = await clusterPorts(3)
  const procs: ChildProcess[] = []
  const clients = new Map<number, Redis>()
  t.teardown(async () => {
    for (const c of clients.values()) c.disconnect()
    await Promise.all(procs.map((p) => p.exitCode !== null ? undefined : new Promise((resolve) => { p.once('exit', resolve); p.kill('SIGTERM') })))
  })
  await Promise.all(ports.map((port) => new Promise<void>((resolve, reject) => {
    const proc = spawn(redisBinary, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no',
      '--cluster-enabled', 'yes', '--cluster-config-file', `${dir}/nodes-${port}.conf`, '--dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] })
    procs.push(proc)
    let output = ''
    proc.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString()
      if (output.includes('Ready to accept connections')) resolve()
    })
    proc.stderr.resume()
    proc.once('exit', (code) => reject(new Error(`redis-server (cluster) exited ${code ?? 'by signal'}: ${output.slice(-500)}`)))
  })))
  const redisCli = findBinary('redis-cli')
  if (redisCli === undefined) throw new Error('redis-cli is not installed')
  await new Promise<void>((resolve, reject) => {
    const create = spawn(redisCli, ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'], { stdio: 'pipe' })
    let output = ''
    create.stdout.on('data', (c: Buffer) => { output += c.toString() })
    create.stderr.on('data', (c: Buffer) => { output += c.toString() })
    create.once('exit', (code) => code === 0 ? resolve() : reject(new Error(`redis-cli --cluster create failed: ${output}`)))
  })
  for (const port of ports) {
    const client = new Redis({ port, host: '127.0.0.1' })
    client.on('error', () => {})
    clients.set(port, client)
  }
  await until(async () => {
    const infos = await Promise.all([...clients.values()].map((c) => c.cluster('INFO')))
    return infos.every((info) => String(info).includes('cluster_state:ok'))
  }, 'the cluster to be ok')
  return { dsn: `redis-cluster://${ports.map((p) => `127.0.0.1:${p}`).join(',')}`, ports, clientOf: (port) => clients.get(port) as Redis }
}

export interface FreezableProxy {
  port: number
  /** Stops relaying without closing anything: a silently broken connection (NAT, firewall). */
  freeze (): void
  /** Drops what froze (as the network would, eventually) and relays new connections again. */
  thaw (): void
  close (): Promise<void>
}

/** A TCP relay to Redis that can freeze: connections stay open but nothing passes. */
export async function startFreezableProxy (targetPort: number): Promise<FreezableProxy> {
  let frozen = false
  const sockets = new Set<Socket>()
  const track = (socket: Socket): void => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => socket.destroy())
  }
  const server = createServer((client) => {
    track(client)
    if (frozen) return // accepted, never answered
    const upstream = connect(targetPort, '127.0.0.1')
    track(upstream)
    client.on('close', () => upstream.destroy())
    upstream.on('close', () => client.destroy())
    client.pipe(upstream)
    upstream.pipe(client)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const address = server.address()
  return {
    port: typeof address === 'object' && address !== null ? address.port : 0,
    freeze () {
      frozen = true
      for (const socket of sockets) { socket.unpipe(); socket.pause() }
    },
    thaw () {
      frozen = false
      for (const socket of sockets) socket.destroy()
    },
    close: () => new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy()
      server.close(() => resolve())
    })
  }
}
