// In development mode without ORO_WEBSOCKET_PUBLISH_KEYS the gateway makes a key at start. It is
// printed once and left in a file only this user can read, named after the publish port, so that
// `oro-websocket-gateway publish` in another terminal finds it without being told.
//
// The folder is under the shared temp folder at a predictable path, so someone else may have
// made it first (or put a symlink there): it is used only when it is a real folder (not a link)
// owned by this user and closed to others; the file is created anew, exclusively, 0600, never
// through a symlink, and read only when this user owns it.
import { closeSync, constants, fstatSync, lstatSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const { O_CREAT, O_EXCL, O_NOFOLLOW, O_RDONLY, O_WRONLY } = constants

export class DevKeyFileError extends Error {}

function uid (): number | undefined {
  return typeof process.getuid === 'function' ? process.getuid() : undefined
}

export function devKeyFolder (base = tmpdir()): string {
  return join(base, `oro-websocket-gateway-${uid() ?? 0}`)
}

/** Throws DevKeyFileError unless the folder is a real folder of this user that others cannot use. */
function checkFolder (folder: string): void {
  const stat = lstatSync(folder)
  if (!stat.isDirectory()) throw new DevKeyFileError(`${folder} is not a folder (a symlink or a file someone put there); remove it`)
  const me = uid()
  if (me !== undefined && stat.uid !== me) throw new DevKeyFileError(`${folder} belongs to uid ${stat.uid}, not to this user (${me}); remove it`)
  if ((stat.mode & 0o077) !== 0) throw new DevKeyFileError(`${folder} can be used by other users (mode ${(stat.mode & 0o777).toString(8)}); remove it or chmod 700 it`)
}

/** Saves the key; returns the file. Throws DevKeyFileError when the folder is not safe to use. */
export function saveDevKey (port: number, key: string, base?: string): string {
  const folder = devKeyFolder(base)
  try {
    mkdirSync(folder, { mode: 0o700 })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
  }
  checkFolder(folder)
  const file = join(folder, `dev-publish-key-${port}`)
  // A key left by an earlier run (or anything else of that name: unlink removes a link, not its target).
  try {
    unlinkSync(file)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  const fd = openSync(file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600)
  try {
    writeSync(fd, key + '\n')
  } finally {
    closeSync(fd)
  }
  return file
}

export function readDevKey (port: number, base?: string): string | undefined {
  try {
    const folder = devKeyFolder(base)
    checkFolder(folder)
    const fd = openSync(join(folder, `dev-publish-key-${port}`), O_RDONLY | O_NOFOLLOW)
    try {
      const me = uid()
      if (me !== undefined && fstatSync(fd).uid !== me) return undefined
      return readFileSync(fd, 'utf8').trim() || undefined
    } finally {
      closeSync(fd)
    }
  } catch {
    return undefined
  }
}

export function removeDevKey (port: number, base?: string): void {
  try {
    const folder = devKeyFolder(base)
    checkFolder(folder)
    unlinkSync(join(folder, `dev-publish-key-${port}`))
  } catch {
    // Gone already, or not ours to remove.
  }
}
