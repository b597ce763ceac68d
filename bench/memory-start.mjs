#!/usr/bin/env node
// RSS, JS heap and V8's spaces of a server at start and after its first connection, read after
// two forced GCs: node bench/memory-start.mjs gateway|naive [BUILD=dist]. WAIT=15000 reads them
// after 15 s idle instead of 0.5 s (V8's memory reducer gives the young generation back by then).
// The connection is a browser's: from 127.0.0.2, outside ORO_WEBSOCKET_BACKEND_NETWORKS=127.0.0.1/32.
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
const root = new URL('..', import.meta.url).pathname
const { anonymousTicket } = await import(root + '/bench/lib/ticket.mjs')
const { openClient } = await import(root + '/bench/lib/clients.mjs')
const { freePort, waitListening } = await import(root + '/bench/lib/net.mjs')
const { cliOf } = await import(root + '/bench/lib/publish-server.mjs')
const [kind, build = 'dist', ...extraNode] = process.argv.slice(2)
const port = await freePort()
const file = `/tmp/bench-memory-start.${process.pid}.json`
const env = { PATH: process.env.PATH, PORT: String(port), PROBE_FILE: file, ORO_SECRET: 's', ORO_WEBSOCKET_BACKEND_NETWORKS: '127.0.0.1/32', ORO_WEBSOCKET_PUBLISH_KEYS: 'bench-publish-key-0123456789abcdef', ORO_WEBSOCKET_TOPICS: root + '/bench/topics.yml' }
const argv = kind === 'gateway' ? [cliOf(join(root, build)), 'serve', '--env=prod', '-a', '127.0.0.1', '-p', String(port)] : [join(root, 'bench/servers/naive-ws.mjs')]
const child = spawn(process.execPath, ['--expose-gc', ...extraNode, '-r', join(root, 'bench/lib/memory-probe.cjs'), ...argv], { env, stdio: 'inherit' })
await waitListening(port, child)
const probe = async () => { child.kill('SIGPWR'); await new Promise((r) => setTimeout(r, 700)); return JSON.parse(readFileSync(file, 'utf8')) }
await new Promise((r) => setTimeout(r, Number(process.env.WAIT ?? 500)))
const a = await probe()
const client = await openClient(kind === 'gateway' ? 'wamp' : 'ws', { port, ticket: anonymousTicket('s'), topics: ['t/1'], localAddress: '127.0.0.2' }, () => {})
if (client === null) throw new Error('the first connection failed')
await new Promise((r) => setTimeout(r, 500))
const b = await probe()
const mb = (x) => (x / 2 ** 20).toFixed(1)
for (const [label, p] of [['start', a], ['1st conn', b]]) console.log(kind, build, label, 'rss', mb(p.mem.rss), 'anon', mb(p.anonKB * 1024), 'file', mb(p.fileKB * 1024), 'heapTotal', mb(p.mem.heapTotal), 'heapUsed', mb(p.mem.heapUsed), 'external', mb(p.mem.external), 'spaces KB', JSON.stringify(p.spaces.filter((s) => s[1] > 0)))
client?.ws.terminate(); child.kill('SIGKILL')

