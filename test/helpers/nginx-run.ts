// Runs nginx with blocks printed by `oro-websocket-gateway nginx` (or edited from them): wraps
// them into a minimal nginx.conf on the test's own directory and port, runs `nginx -t`, starts
// nginx and stops it at teardown.
import { execFile } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { splitNginx } from '../../src/cli/nginx-config.js'
import { nginxBinary, nginxMain, spawnNginx } from './nginx.js'

const run = promisify(execFile)

interface Teardown { teardown (fn: () => unknown): void }

/** The printed blocks inside a minimal nginx.conf; the server {} part goes into a plain server on `port`. */
export function wrapNginx (dir: string, text: string, port: number): string {
  const { http, server } = splitNginx(text)
  return nginxMain(dir, `${http}
${server === '' ? '' : `  server {\n    listen 127.0.0.1:${port};\n    root ${dir};\n${server}\n  }`}`, 64)
}

/** Writes the configuration, runs `nginx -t` (its verdict is returned), starts nginx on `port`. */
export async function runNginx (t: Teardown, text: string, port: number, dir = mkdtempSync(join(tmpdir(), 'gw-nginx-run-'))): Promise<string> {
  if (nginxBinary === undefined) throw new Error('nginx is not installed')
  writeFileSync(join(dir, 'nginx.conf'), wrapNginx(dir, text, port))
  // nginx -t writes its verdict on stderr and exits 1 when the configuration is wrong.
  const args = ['-p', dir, '-c', join(dir, 'nginx.conf'), '-g', 'daemon off; user root;']
  const verdict = await run(nginxBinary, ['-t', ...args]).then((r) => r.stderr, (err: { stderr: string }) => `FAILED: ${err.stderr}`)
  await spawnNginx(t, dir, port, 'inherit', verdict)
  return verdict
}
