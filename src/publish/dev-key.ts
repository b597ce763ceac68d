// In development mode without ORO_WEBSOCKET_PUBLISH_KEYS the gateway makes a key at start. It is
// printed once and left in a file only this user can read, named after the publish port, so that
// `oro-websocket-gateway publish` in another terminal finds it without being told.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

function devKeyFile (port: number): string {
  const uid = typeof process.getuid === 'function' ? process.getuid() : 0
  return join(tmpdir(), `oro-websocket-gateway-${uid}`, `dev-publish-key-${port}`)
}

export function saveDevKey (port: number, key: string): string {
  const file = devKeyFile(port)
  mkdirSync(join(file, '..'), { recursive: true, mode: 0o700 })
  writeFileSync(file, key + '\n', { mode: 0o600 })
  return file
}

export function readDevKey (port: number): string | undefined {
  try {
    return readFileSync(devKeyFile(port), 'utf8').trim() || undefined
  } catch {
    return undefined
  }
}

export function removeDevKey (port: number): void {
  rmSync(devKeyFile(port), { force: true })
}
