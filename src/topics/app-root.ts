// Finds every bundle's Resources/config/oro/websocket_routing.yml below an Oro application, as
// Oro's own config loader would (vendor/ included), and the bundles' service files
// (Resources/config/services*.yml), where the topic services that decide who may subscribe are.
// The walk is bounded so a wrong --app-root (a home directory, /) fails fast with a clear message
// instead of hanging the start.
import { readdirSync, realpathSync, statSync, type Dirent } from 'node:fs'
import { join, relative, sep } from 'node:path'
import { ConfigError } from '../config/errors.js'

export interface ScanLimits {
  maxDepth: number
  maxDirectories: number
  timeBudgetMs: number
}

// vendor/oro/platform/src/Oro/Bundle/SyncBundle/Resources/config/oro is 10 levels deep.
const LIMITS: ScanLimits = { maxDepth: 16, maxDirectories: 200_000, timeBudgetMs: 15_000 }
const SKIP_NAMES = new Set(['node_modules', '.git'])
const SKIP_PATHS = [join('var', 'cache')]
const TAIL = join('Resources', 'config', 'oro', 'websocket_routing.yml')
const SERVICES_DIR = sep + join('Resources', 'config')
// services_test.yml is loaded by Oro's test environment only.
const SERVICES_FILE = /^services(?!_test\.)[^/]*\.ya?ml$/

export interface AppRootFiles {
  /** Bundles' websocket_routing.yml, in load order. */
  routing: string[]
  /** Bundles' Resources/config/services*.yml, in the same order. */
  services: string[]
}

/** Files in load order: vendor/ first, then the application's own, so the application wins. */
export function findRoutingFiles (root: string, limits: Partial<ScanLimits> = {}): string[] {
  return scanAppRoot(root, limits).routing
}

export function scanAppRoot (root: string, limits: Partial<ScanLimits> = {}): AppRootFiles {
  const { maxDepth, maxDirectories, timeBudgetMs } = { ...LIMITS, ...limits }
  const where = `--app-root ${root}`
  let realRoot: string
  try {
    realRoot = realpathSync(root)
  } catch {
    throw new ConfigError(where, 'does not exist', '--app-root /var/www/oro')
  }
  const deadline = Date.now() + timeBudgetMs
  const visited = new Set<string>([realRoot]) // real paths: a symlink loop is entered once
  const found: string[] = []
  const services: string[] = []
  let directories = 0

  const walk = (dir: string, depth: number): void => {
    if (++directories > maxDirectories || Date.now() > deadline) {
      throw new ConfigError(where, `has too many directories to scan (stopped after ${directories - 1} in ${timeBudgetMs} ms)`,
        '--app-root pointing at the Oro application (the directory with bin/console), or ORO_WEBSOCKET_TOPICS=topics.yml instead')
    }
    let entries: Dirent[]
    try {
      entries = readdirSync(dir, { withFileTypes: true })
    } catch {
      return // unreadable directories hold nothing Oro could load either
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    for (const entry of entries) {
      const path = join(dir, entry.name)
      if (entry.isFile() || (entry.isSymbolicLink() && entry.name === 'websocket_routing.yml')) {
        if (entry.name === 'websocket_routing.yml' && path.endsWith(sep + TAIL)) found.push(path)
        else if (entry.isFile() && SERVICES_FILE.test(entry.name) && dir.endsWith(SERVICES_DIR)) services.push(path)
        continue
      }
      if (depth >= maxDepth || SKIP_NAMES.has(entry.name)) continue
      if (SKIP_PATHS.includes(relative(root, path))) continue
      if (!entry.isDirectory() && !(entry.isSymbolicLink() && isDirectory(path))) continue
      const real = realpathSync(path)
      if (visited.has(real)) continue
      visited.add(real)
      walk(path, depth + 1)
    }
  }
  walk(root, 0)

  const vendor = join(root, 'vendor') + sep
  const ordered = (files: string[]): string[] => [...files.filter((f) => f.startsWith(vendor)), ...files.filter((f) => !f.startsWith(vendor))]
  return { routing: ordered(found), services: ordered(services) }
}

/** Follows a symlink; false when it dangles. */
function isDirectory (path: string): boolean {
  try {
    return statSync(path).isDirectory()
  } catch {
    return false
  }
}
