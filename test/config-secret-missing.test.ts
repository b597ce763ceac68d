// ORO_SECRET's two traps for a new operator (issue 16 §6 and "Also"): starting without --app-root
// in a directory holding no .env-app (the error must say so and suggest --app-root), and a blank
// `ORO_SECRET=` (a compose file's unset variable) hiding the secret of --parameters.
import { test } from 'tap'
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { cliPath, freePort } from './helpers/spawn-gateway.js'

interface Result { code: number, stdout: string, stderr: string }

/** The built CLI in `cwd`, with `env` and none of this process's ORO_* variables. */
function run (args: string[], env: Record<string, string>, cwd: string): Promise<Result> {
  const clean: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('ORO_')) clean[k] = v
  return new Promise((resolve) => {
    execFile(process.execPath, [cliPath, ...args], { cwd, env: { ...clean, ...env } }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : Number((error as { code?: number }).code ?? 1), stdout, stderr })
    })
  })
}

function tempDir (t: { teardown: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'gw-secret-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

test('forgetting --app-root: the error says no .env-app was read in the working directory, and suggests --app-root', async (t) => {
  const cwd = tempDir(t)
  const server = { ORO_WEBSOCKET_SERVER_DSN: `//127.0.0.1:${await freePort()}` }
  for (const command of [['serve', '--env=prod'], ['config', '--env=prod']]) {
    const result = await run(command, server, cwd)
    t.equal(result.code, 1, `${command.join(' ')}: exit 1`)
    t.equal(result.stderr.trim().split('\n').length, 1, 'one line')
    t.match(result.stderr, /^GW_ERR_CONFIG_INVALID: invalid configuration: ORO_SECRET is not set; --env=prod needs it to verify the tickets of WebSocket clients; no \.env-app was read in the working directory (\S+): give the Oro application's root with --app-root/)
    t.ok(result.stderr.includes(cwd), 'naming the directory')
  }
  const ticket = await run(['ticket'], {}, cwd)
  t.match(ticket.stderr, /ORO_SECRET is not set; tickets are signed with it; no \.env-app was read in the working directory .*--app-root/, 'the ticket command says the same')

  const notOro = tempDir(t)
  const wrongRoot = await run(['config', '--env=prod', `--app-root=${notOro}`], server, cwd)
  t.match(wrongRoot.stderr, new RegExp(`ORO_SECRET is not set; .*no \\.env-app was read in ${notOro} \\(--app-root\\): is it the Oro application's root`))

  const app = tempDir(t)
  writeFileSync(join(app, '.env-app'), 'ORO_SECRET=\nORO_ENV=prod\n')
  const empty = await run(['config', '--env=prod', `--app-root=${app}`], server, cwd)
  t.match(empty.stderr, new RegExp(`ORO_SECRET is not set; .*neither ${join(app, '.env-app')} nor the environment set it`), 'files read, but none sets it')
})

test('ORO_SECRET= (set but empty) counts as not set: --parameters supplies the secret, for every command', async (t) => {
  const cwd = tempDir(t)
  const parameters = join(cwd, 'parameters.yml')
  writeFileSync(parameters, 'parameters:\n  secret: legacy-app-secret\n  websocket_bind_port: 8080\n')
  const env = { ORO_SECRET: '', ORO_WEBSOCKET_SERVER_DSN: `//127.0.0.1:${await freePort()}` }
  const config = await run(['config', '--env=prod', '--json', `--parameters=${parameters}`], env, cwd)
  t.equal(config.code, 0, config.stderr)
  const settings = (JSON.parse(config.stdout) as { settings: Array<{ name: string, value: unknown, source: string }> }).settings
  t.match(settings.find((s) => s.name === 'ORO_SECRET'), { value: '****', source: `${parameters} (secret)` }, 'the secret comes from parameters.yml')
  const ticket = await run(['ticket', `--parameters=${parameters}`], env, cwd)
  t.equal(ticket.code, 0, ticket.stderr)
  t.match(Buffer.from(ticket.stdout.trim(), 'base64').toString(), /^[A-Za-z0-9+/]{86}==;;[0-9a-f]{16};/, 'an anonymous ticket, signed with it')
})
