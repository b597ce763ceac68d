// What the POST /publish benches start: the gateway of a build (its CLI, a publish key, the
// bench's topics) or the bare Fastify route they are measured against, on `port`.
import { existsSync } from 'node:fs'
import { join } from 'node:path'

const bench = new URL('..', import.meta.url).pathname

export const PUBLISH_KEY = 'bench-publish-key-0123456789abcdef'

/** The CLI of a build: dist/cli.js, or dist/src/cli.js in builds from before the composition root left src/. */
export function cliOf (dir) {
  return existsSync(join(dir, 'cli.js')) ? join(dir, 'cli.js') : join(dir, 'src/cli.js')
}

/**
 * Node's arguments and the environment for `build` ('bare', or a build directory under `root`)
 * listening on `port`; `nodeArgs` go before the script (e.g. --cpu-prof), `env` is added.
 */
export function publishServer (root, build, port, { nodeArgs = [], env = {} } = {}) {
  const base = { PATH: process.env.PATH, HOME: process.env.HOME, PORT: String(port), ...env }
  if (build === 'bare') return { argv: [...nodeArgs, join(bench, 'servers/bare-fastify.mjs')], env: base }
  return {
    argv: [...nodeArgs, cliOf(join(root, build)), 'serve', '--env=prod', '-a', '127.0.0.1', '-p', String(port)],
    env: { ...base, ORO_SECRET: 'bench-oro-secret', ORO_WEBSOCKET_PUBLISH_KEYS: PUBLISH_KEY, ORO_WEBSOCKET_TOPICS: join(bench, 'topics.yml') }
  }
}
