// The Dockerfile, performed without a Docker engine: the build context (the checkout's files less
// .gitignore and .dockerignore) is copied to a temp dir, each stage gets its own temp dir as "/",
// and its instructions run in order (WORKDIR, ENV, COPY [--from], RUN through sh). Then the final
// stage's CMD is started as written, its HEALTHCHECK command is run against it, the
// STOPSIGNAL must make it exit 0, and what it logged must be JSON with the start and stop lines.
// The same install is then started with --env=dev at a terminal (script(1)): without pino-pretty
// (a devDependency) it must log JSON there too. npm ci runs for real (twice: build and runtime
// stage), so this takes a while and needs the npm registry (or a warm npm cache).
import t from 'tap'
import { execFile, execFileSync, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, delimiter, dirname, join, posix } from 'node:path'
import { fileURLToPath } from 'node:url'
import { freePort, waitForHealthz } from './helpers/spawn-gateway.js'
import { findBinary, inCI } from './helpers/services.js'

t.setTimeout(20 * 60_000)

const repo = fileURLToPath(new URL('..', import.meta.url))

interface Instruction { keyword: string, args: string, line: number }

interface Stage {
  name: string
  root: string
  workdir: string
  env: Record<string, string>
  user?: string
  expose: string[]
  cmd?: string[]
  healthcheck?: { options: Record<string, string>, cmd: string[] }
  stopsignal?: string
}

/** Instructions with continuation lines joined and comments left out. */
export function parseDockerfile (text: string): Instruction[] {
  const result: Instruction[] = []
  let current = ''
  let start = 0
  text.split('\n').forEach((raw, i) => {
    const line = raw.trimEnd()
    if (current === '' && line.trim() === '') return
    if (/^\s*#/.test(line)) return
    if (current === '') start = i + 1
    if (line.endsWith('\\')) {
      current += line.slice(0, -1) + ' '
      return
    }
    current += line
    const match = /^\s*(\w+)\s+([\s\S]*)$/.exec(current)
    if (match === null) throw new Error(`Dockerfile line ${start}: cannot read "${current}"`)
    result.push({ keyword: (match[1] as string).toUpperCase(), args: (match[2] as string).trim(), line: start })
    current = ''
  })
  return result
}

/** Leading --name=value flags, and what follows them. */
function flags (args: string): { flags: Record<string, string>, rest: string } {
  const found: Record<string, string> = {}
  let rest = args
  for (let m = /^--([\w-]+)(?:=(\S*))?\s+/.exec(rest); m !== null; m = /^--([\w-]+)(?:=(\S*))?\s+/.exec(rest)) {
    found[m[1] as string] = m[2] ?? ''
    rest = rest.slice(m[0].length)
  }
  return { flags: found, rest }
}

/** Exec form (a JSON array) as is; shell form through /bin/sh -c, as Docker does. */
function commandLine (rest: string): { argv: string[], exec: boolean } {
  if (rest.startsWith('[')) return { argv: JSON.parse(rest) as string[], exec: true }
  return { argv: ['/bin/sh', '-c', rest], exec: false }
}

function envPairs (args: string): Record<string, string> {
  const env: Record<string, string> = {}
  if (!args.includes('=')) {
    const [name, ...value] = args.split(/\s+/)
    env[name as string] = value.join(' ')
    return env
  }
  for (const m of args.matchAll(/([\w.-]+)=("(?:[^"\\]|\\.)*"|\S*)/g)) {
    const value = m[2] as string
    env[m[1] as string] = value.startsWith('"') ? JSON.parse(value) as string : value
  }
  return env
}

/** .dockerignore's patterns (top-level paths and simple `*` globs, which is all this repo uses). */
function ignoredBy (patterns: string[]): (path: string) => boolean {
  const res = patterns.map((p) => new RegExp('^' + p.replace(/^\/+|\/+$/g, '').replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*') + '(?:/|$)'))
  return (path) => res.some((re) => re.test(path))
}

/** The environment a container gets: PATH (this Node first), HOME (npm's cache and config), network settings. */
function baseEnv (): Record<string, string> {
  const env: Record<string, string> = { PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? '/usr/bin:/bin'}` }
  for (const name of ['HOME', 'TMPDIR', 'NODE_EXTRA_CA_CERTS', 'SSL_CERT_FILE', 'HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'no_proxy', 'npm_config_registry', 'npm_config_cache', 'npm_config_userconfig']) {
    const value = process.env[name]
    if (value !== undefined) env[name] = value
  }
  return env
}

function run (argv: string[], cwd: string, env: Record<string, string>, timeoutMs: number): Promise<{ code: number, output: string }> {
  return new Promise((resolve) => {
    execFile(argv[0] as string, argv.slice(1), { cwd, env, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1
      resolve({ code, output: `${stdout}${stderr}${err !== null && typeof err.code !== 'number' ? `\n${err.message}` : ''}` })
    })
  })
}

/** Node as the image has it: `node` is this test's Node (the image's is node:24; CI runs this on 20 and 24). */
function localArgv (argv: string[]): string[] {
  return argv[0] === 'node' ? [process.execPath, ...argv.slice(1)] : argv
}

const dockerfile = readFileSync(join(repo, 'Dockerfile'), 'utf8')
const instructions = parseDockerfile(dockerfile)
const supported = new Set(['FROM', 'ARG', 'ENV', 'WORKDIR', 'COPY', 'RUN', 'USER', 'EXPOSE', 'HEALTHCHECK', 'STOPSIGNAL', 'CMD', 'LABEL'])

t.test('the Dockerfile declares a multi-stage, non-root image that node runs directly', async (t) => {
  for (const i of instructions) t.ok(supported.has(i.keyword), `line ${i.line}: ${i.keyword} is one this test can perform`)
  const froms = instructions.filter((i) => i.keyword === 'FROM')
  t.ok(froms.length >= 2, 'a build stage and a runtime stage')
  const last = instructions.slice(instructions.lastIndexOf(froms.at(-1) as Instruction))
  const find = (keyword: string): string | undefined => last.filter((i) => i.keyword === keyword).at(-1)?.args
  const user = find('USER')
  t.ok(user !== undefined && !['root', '0', '0:0'].includes(user), `the runtime stage runs as a non-root user (${String(user)})`)
  t.match(find('EXPOSE'), /\b8080\b/, 'EXPOSE 8080')
  t.equal(find('STOPSIGNAL'), 'SIGTERM')
  const cmd = commandLine(find('CMD') ?? '')
  t.ok(cmd.exec, 'CMD is in exec form, so the signals reach node')
  t.same(cmd.argv.slice(0, 3), ['node', 'dist/cli.js', 'serve'])
  t.ok(cmd.argv.includes('--env=prod'), 'prod mode')
  const health = find('HEALTHCHECK') ?? ''
  const probe = commandLine(flags(health).rest.replace(/^CMD\s+/, ''))
  t.ok(probe.exec && probe.argv[0] === 'node', 'HEALTHCHECK runs node in exec form (no curl in slim images)')
  t.match(dockerfile, /ORO_SECRET/, 'a comment says ORO_SECRET must be passed')
  const ignored = ignoredBy(readFileSync(join(repo, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#')))
  for (const path of ['node_modules', 'dist', '.git', '.tap', 'coverage', 'bench/results', 'integrations/oro-bundle/composer.json']) t.ok(ignored(path), `.dockerignore leaves out ${path}`)
})

t.test('building and running the image, step by step', async (t) => {
  const work = mkdtempSync(join(tmpdir(), 'gw-docker-'))
  t.teardown(() => { if (process.env.KEEP_DOCKER_TEST_DIR === undefined) rmSync(work, { recursive: true, force: true }) })

  // The build context: what `docker build .` would send from this checkout.
  const context = join(work, 'context')
  const ignored = ignoredBy(readFileSync(join(repo, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#')))
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: repo }).toString().split('\0').filter((f) => f !== '')
  let copied = 0
  for (const file of files) {
    if (ignored(file) || !existsSync(join(repo, file)) || !statSync(join(repo, file)).isFile()) continue
    mkdirSync(dirname(join(context, file)), { recursive: true })
    cpSync(join(repo, file), join(context, file))
    copied++
  }
  t.ok(copied > 10, `build context: ${copied} files`)

  const args: Record<string, string> = {}
  const stages: Stage[] = []
  let stage: Stage | undefined
  const inStage = (s: Stage, path: string): string => join(s.root, posix.resolve(s.workdir, path))
  const env = (s: Stage): Record<string, string> => ({ ...baseEnv(), ...s.env })
  for (const { keyword, args: text, line } of instructions) {
    const where = `Dockerfile line ${line}: ${keyword} ${text.length > 80 ? text.slice(0, 80) + '...' : text}`
    if (keyword === 'ARG') {
      const [name, value] = text.split('=')
      args[name as string] = value ?? ''
      continue
    }
    if (keyword === 'FROM') {
      const from = flags(text).rest.replace(/\$\{(\w+)\}|\$(\w+)/g, (_m, a?: string, b?: string) => args[(a ?? b) as string] ?? '')
      const [image, as, name] = from.split(/\s+/)
      t.match(image, /^node:2[0-9]/, `${where}: a Node image`)
      const root = join(work, `stage-${stages.length}`)
      mkdirSync(root)
      stage = { name: as?.toUpperCase() === 'AS' && name !== undefined ? name : String(stages.length), root, workdir: '/', env: {}, expose: [] }
      stages.push(stage)
      continue
    }
    if (stage === undefined) throw new Error(`${where}: before FROM`)
    switch (keyword) {
      case 'ENV':
        Object.assign(stage.env, envPairs(text))
        break
      case 'WORKDIR':
        stage.workdir = posix.resolve(stage.workdir, text)
        mkdirSync(inStage(stage, '.'), { recursive: true })
        break
      case 'COPY': {
        const { flags: f, rest } = flags(text)
        const parts = rest.startsWith('[') ? JSON.parse(rest) as string[] : rest.split(/\s+/)
        const dest = parts.pop() as string
        const fromStage = f.from === undefined ? undefined : stages.find((s) => s.name === f.from)
        if (f.from !== undefined && fromStage === undefined) throw new Error(`${where}: no stage named ${f.from}`)
        const target = inStage(stage, dest)
        const intoDir = dest.endsWith('/') || parts.length > 1
        for (const src of parts) {
          if (/[*?[]/.test(src)) throw new Error(`${where}: wildcards are not performed by this test`)
          const source = fromStage === undefined ? join(context, posix.normalize(src)) : join(fromStage.root, posix.resolve(fromStage.workdir, src))
          t.ok(existsSync(source), `${where}: ${src} exists`)
          if (statSync(source).isDirectory()) {
            cpSync(source, target, { recursive: true })
          } else {
            const file = intoDir ? join(target, basename(source)) : target
            mkdirSync(dirname(file), { recursive: true })
            cpSync(source, file)
          }
        }
        break
      }
      case 'RUN': {
        const { argv } = commandLine(flags(text).rest)
        const result = await run(argv, inStage(stage, '.'), env(stage), 15 * 60_000)
        t.equal(result.code, 0, where, { output: result.output.slice(-4000) })
        if (result.code !== 0) return
        break
      }
      case 'USER':
        // Not performed (the test does not switch users); the first test checks it is not root.
        stage.user = text
        break
      case 'EXPOSE':
        stage.expose.push(...text.split(/\s+/))
        break
      case 'CMD':
        stage.cmd = commandLine(text).argv
        break
      case 'HEALTHCHECK': {
        const { flags: options, rest } = flags(text)
        stage.healthcheck = { options, cmd: commandLine(rest.replace(/^CMD\s+/, '')).argv }
        break
      }
      case 'STOPSIGNAL':
        stage.stopsignal = text
        break
      case 'LABEL':
        break
      default:
        throw new Error(`${where}: not performed by this test`)
    }
  }

  const image = stages.at(-1) as Stage
  const app = inStage(image, '.')
  t.ok(existsSync(join(app, 'dist/cli.js')), 'the image has dist/cli.js')
  t.notOk(existsSync(join(app, 'src')), 'and no TypeScript sources')
  const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { dependencies: Record<string, string>, devDependencies: Record<string, string> }
  for (const dep of Object.keys(pkg.dependencies)) t.ok(existsSync(join(app, 'node_modules', dep)), `dependency ${dep} is in the image`)
  // A devDependency may also be a production package's dependency (mysql2 needs @types/node):
  // the lockfile marks what only devDependencies need with "dev": true, and none of that may be here.
  const lock = JSON.parse(readFileSync(join(repo, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> }
  const devOnly = Object.entries(lock.packages).filter(([path, p]) => path !== '' && p.dev === true).map(([path]) => path)
  const present = devOnly.filter((path) => existsSync(join(app, path)))
  t.ok(devOnly.length > 0, `the lockfile has ${devOnly.length} dev-only packages`)
  t.same(present, [], 'none of them is in the image')
  for (const name of ['typescript', 'tap', '.bin/tsc', '.bin/tap']) t.notOk(existsSync(join(app, 'node_modules', name)), `no node_modules/${name}`)

  // The container: CMD as written, with what --env=prod needs.
  const port = await freePort()
  const runEnv = {
    ...env(image),
    ORO_WEBSOCKET_SERVER_DSN: `//127.0.0.1:${port}`,
    ORO_SECRET: randomBytes(24).toString('hex'),
    ORO_WEBSOCKET_PUBLISH_KEYS: `docker-test-${randomBytes(24).toString('base64url')}`
  }
  const cmd = localArgv(image.cmd ?? [])
  const child = spawn(cmd[0] as string, cmd.slice(1), { cwd: app, env: runEnv, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  let stdout = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => { output += chunk; stdout += chunk })
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { output += chunk })
  const exited = new Promise<{ code: number | null, signal: NodeJS.Signals | null }>((resolve) => child.once('close', (code, signal) => resolve({ code, signal })))
  t.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') })

  try {
    await waitForHealthz(`http://127.0.0.1:${port}/healthz`, 20_000, exited)
    t.pass(`${image.cmd?.join(' ')} answers GET /healthz with 200`)
  } catch (err) {
    t.fail((err as Error).message, { output })
    return
  }

  const health = image.healthcheck
  t.ok(health !== undefined, 'the image has a HEALTHCHECK')
  if (health !== undefined) {
    const probe = localArgv(health.cmd)
    const ok = await run(probe, app, runEnv, 10_000)
    t.equal(ok.code, 0, 'the HEALTHCHECK command succeeds against the running gateway', { output: ok.output })
    const nobody = await run(probe, app, { ...runEnv, ORO_WEBSOCKET_SERVER_DSN: `//127.0.0.1:${await freePort()}` }, 10_000)
    t.not(nobody.code, 0, 'and fails when nothing listens there', { output: nobody.output })
  }

  child.kill((image.stopsignal ?? 'SIGTERM') as NodeJS.Signals)
  const exit = await exited
  t.same(exit, { code: 0, signal: null }, `${image.stopsignal ?? 'SIGTERM'}: a graceful exit with code 0`, { output })

  // It logged: JSON lines on stdout (pino-pretty, a devDependency, is not installed), the start
  // line at notice (shown at prod's default level), the stop lines, nothing at error.
  const prod = logLines(stdout)
  t.same(prod.other, [], 'every line on stdout is JSON', { output })
  t.ok(prod.json.some((l) => l.level === 'notice' && l.mode === 'prod' && /^oro-websocket-gateway listening on 127\.0\.0\.1:/.test(String(l.msg))), 'the start line, at notice', { output })
  t.ok(prod.json.some((l) => l.msg === 'shutdown complete'), 'the stop line', { output })
  t.same(prod.json.filter((l) => l.level === 'error' || l.level === 'fatal'), [], 'nothing at error')

  // --env=dev at a terminal would print through pino-pretty; this install has none, so it must
  // start and log JSON there too (README, Logging), not stop with "unable to determine transport".
  const script = findBinary('script')
  if (script === undefined) {
    if (inCI) t.fail('CI=true but `script` (util-linux) is not installed: it gives the gateway a terminal')
    else t.pass('--env=dev at a terminal', { skip: '`script` (util-linux) is not installed: it gives the gateway a terminal' })
    return
  }
  const devPort = await freePort()
  const devArgv = [...cmd.filter((a) => !a.startsWith('--env=')), '--env=dev']
  const tty = spawn(script, ['-qefc', devArgv.map(shellQuote).join(' '), '/dev/null'], { cwd: app, env: { ...runEnv, ORO_WEBSOCKET_SERVER_DSN: `//127.0.0.1:${devPort}` }, stdio: ['pipe', 'pipe', 'pipe'] })
  let ttyOutput = ''
  // The start line is written once listening (/healthz may answer just before it): awaited as
  // output arrives, or given up when script exits or after a generous deadline.
  const startLine = (): Record<string, unknown> | undefined => logLines(ttyOutput).json.find((l) => /^oro-websocket-gateway listening on /.test(String(l.msg)))
  let started: Record<string, unknown> | undefined
  let sawStart: () => void = () => {}
  const startSeen = new Promise<void>((resolve) => { sawStart = resolve })
  const onTty = (chunk: string): void => {
    ttyOutput += chunk
    started ??= startLine()
    if (started !== undefined) sawStart()
  }
  tty.stdout.setEncoding('utf8').on('data', onTty)
  tty.stderr.setEncoding('utf8').on('data', onTty)
  const ttyExited = new Promise<{ code: number | null, signal: NodeJS.Signals | null }>((resolve) => tty.once('close', (code, signal) => resolve({ code, signal })))
  t.teardown(() => { if (tty.exitCode === null && tty.signalCode === null) tty.kill('SIGKILL') })
  try {
    await waitForHealthz(`http://127.0.0.1:${devPort}/healthz`, 60_000, ttyExited)
  } catch (err) {
    t.fail(`--env=dev at a terminal: ${(err as Error).message}`, { output: ttyOutput })
    return
  }
  let timer: NodeJS.Timeout | undefined
  await Promise.race([startSeen, ttyExited, new Promise((resolve) => { timer = setTimeout(resolve, 60_000) })])
  clearTimeout(timer)
  t.match(started, { level: 'notice', mode: 'dev' }, '--env=dev at a terminal: the start line is JSON', { output: ttyOutput })
  if (typeof started?.pid !== 'number') return
  // The gateway's own pid (script stands between): SIGTERM to it, script exits with its code.
  process.kill(started.pid, 'SIGTERM')
  t.same(await ttyExited, { code: 0, signal: null }, 'and it exits 0 on SIGTERM', { output: ttyOutput })
  tty.stdin.end()
  const dev = logLines(ttyOutput)
  t.same(dev.other, [], 'every line at the terminal is JSON', { output: ttyOutput })
  t.ok(dev.json.some((l) => l.msg === 'shutdown complete'), 'the stop line', { output: ttyOutput })
})

/** A process's output split into JSON log lines and the other non-empty lines (a terminal ends lines with \r\n). */
function logLines (text: string): { json: Array<Record<string, unknown>>, other: string[] } {
  const json: Array<Record<string, unknown>> = []
  const other: string[] = []
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '') continue
    try {
      json.push(JSON.parse(line) as Record<string, unknown>)
    } catch {
      other.push(line)
    }
  }
  return { json, other }
}

/** A word for sh -c, quoted. */
function shellQuote (word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`
}
