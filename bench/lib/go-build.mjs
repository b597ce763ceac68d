// Builds the Go programs of the benchmark (the Centrifuge server, the SHA-512 floor loop) offline
// from Debian's Go packages (GO111MODULE=off, GOPATH=/usr/share/gocode) into bench/.build/, which
// git ignores. Returns { path } or { skip: reason } when Go or a package is missing.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, statSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const BUILD = join(here, '..', '.build')
const GOCODE = '/usr/share/gocode'

const SOURCES = {
  'centrifuge-server': { dir: join(here, '..', 'servers', 'centrifuge'), needs: ['github.com/centrifugal/centrifuge', 'github.com/centrifugal/protocol'] },
  'sha512-floor': { dir: join(here, 'sha512-floor'), needs: [] }
}

const built = new Map()

export function buildGo (name) {
  if (built.has(name)) return built.get(name)
  const { dir, needs } = SOURCES[name]
  let result
  const go = spawnSync('go', ['version'], { encoding: 'utf8' })
  const missing = needs.filter((pkg) => !existsSync(join(GOCODE, 'src', pkg)))
  if (go.error !== undefined || go.status !== 0) {
    result = { skip: 'go not found (apt-get install golang-go)' }
  } else if (missing.length > 0) {
    result = { skip: `missing Go sources ${missing.join(', ')} (apt-get install golang-github-centrifugal-centrifuge-dev golang-github-centrifugal-protocol-dev golang-github-mna-redisc-dev golang-github-igm-sockjs-go-dev golang-github-fzambia-eagle-dev)` }
  } else {
    mkdirSync(join(BUILD, 'gopath'), { recursive: true })
    const out = join(BUILD, name)
    const source = join(dir, 'main.go')
    if (!existsSync(out) || statSync(out).mtimeMs < statSync(source).mtimeMs) {
      const r = spawnSync('go', ['build', '-o', out, '.'], {
        cwd: dir,
        encoding: 'utf8',
        env: { ...process.env, GO111MODULE: 'off', GOFLAGS: '', GOPATH: `${GOCODE}:${join(BUILD, 'gopath')}`, GOCACHE: join(BUILD, 'gocache') }
      })
      if (r.status !== 0) result = { skip: `go build ${name} failed: ${(r.stderr || r.error?.message || '').trim().split('\n')[0]}` }
    }
    result ??= { path: out, version: go.stdout.trim() }
  }
  built.set(name, result)
  return result
}
