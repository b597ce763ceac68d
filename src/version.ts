// The package's version, read from package.json whether running from src/ (tests) or dist/src/.
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

function findPackageJson (): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (let i = 0; i < 4; i++) {
    const candidate = join(dir, 'package.json')
    if (existsSync(candidate)) return candidate
    dir = dirname(dir)
  }
  throw new Error('package.json not found above ' + import.meta.url)
}

const pkg = JSON.parse(readFileSync(findPackageJson(), 'utf8')) as { version: string, engines?: { node?: string } }

export const version = pkg.version
/** package.json's engines.node (e.g. ">=22"): the Node.js versions the gateway supports. */
export const nodeEngine = pkg.engines?.node ?? '>=22'
/**
 * The Node.js major versions supported: the LTS lines CI tests (.ci/run installs these). Odd
 * majors (23, 25) are never LTS and get fixes for six months only; a newer even one is untested.
 */
export const SUPPORTED_NODE_MAJORS: readonly number[] = [22, 24]
export const SERVER_IDENT = `oro-websocket-gateway/${version}`
