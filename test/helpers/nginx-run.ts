// Runs nginx with blocks printed by `oro-websocket-gateway nginx` (or edited from them): wraps
// them into a minimal nginx.conf on the test's own directory and port, runs `nginx -t`, starts
// nginx and stops it at teardown.
import { execFile, spawn } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { splitNginx } from '../../src/cli/nginx-config.js'
import { nginxBinary } from './nginx.js'
import { canConnect } from './services.js'

const run = promisify(execFile)

interface Teardown { teardown (fn: () => unknown): void }

/** The printed blocks inside a minimal nginx.conf; the server {} part goes into a plain server on `port`. */
export function wrapNginx (dir: string, text: string, port: number): string {
  const { http, server } = splitNginx(text)
  return `
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 64; }
http {
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  access_log off;
${http}
${server === '' ? '' : `  server {\n    listen 127.0.0.1:${port};\n    root ${dir};\n${server}\n  }`}
}
`
}

/** Writes the configuration, runs `nginx -t` (its verdict is returned), starts nginx on `port`. */
export async function runNginx (t: Teardown, text: string, port: number, dir = mkdtempSync(join(tmpdir(), 'gw-nginx-run-'))): Promise<string> {
  if (nginxBinary === undefined) throw new Error('nginx is not installed')
  const binary = nginxBinary
  writeFileSync(join(dir, 'nginx.conf'), wrapNginx(dir, text, port))
  const args = ['-p', dir, '-c', join(dir, 'nginx.conf'), '-g', 'daemon off; user root;']
  // nginx -t writes its verdict on stderr and exits 1 when the configuration is wrong.
  const verdict = await run(binary, ['-t', ...args]).then((r) => r.stderr, (err: { stderr: string }) => `FAILED: ${err.stderr}`)
  const child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'inherit'] })
  t.teardown(() => { child.kill('SIGQUIT') })
  const end = Date.now() + 10_000
  while (!(await canConnect(port))) {
    if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode}: ${verdict}`)
    if (Date.now() > end) throw new Error('nginx did not start in 10 s')
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return verdict
}
