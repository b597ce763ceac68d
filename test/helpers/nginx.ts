// A real nginx in front of the gateway, with the `location /ws` block of Oro's documents
// (shared/seeds), started on a free port with its own config and stopped after the test.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { canConnect, findBinary, freePort } from './services.js'

export const nginxBinary = findBinary('nginx')

/** The two proxy_pass forms of Oro's documents: older `.../` and newer `.../$is_args$args`. */
export type ProxyPassVariant = 'slash' | 'is_args'

/** The block the README recommends so that only /ws itself is proxied (not /wspublish, ...). */
export const BLOCK_SUBPATHS = 'location ~ ^/ws.+ { return 404; }'

/** A minimal nginx.conf around `http` (server blocks and the like), every file in the test's dir. */
export function nginxMain (dir: string, http: string, workerConnections = 1024): string {
  return `
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections ${workerConnections}; }
http {
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  access_log off;
${http}
}
`
}

/** Oro's `location /ws` block (shared/seeds), its logs moved to the test's directory. */
export function oroWsLocation (dir: string, proxyPass: string): string {
  return `
    location /ws {
      proxy_set_header Host $http_host;
      proxy_set_header X-Real-IP $remote_addr;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-NginX-Proxy true;
      proxy_set_header X-Forwarded-Proto $scheme;

      proxy_pass ${proxyPass};
      proxy_redirect off;
      proxy_read_timeout 86400;

      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection "upgrade";

      proxy_buffers 8 32k;
      proxy_buffer_size 64k;

      reset_timedout_connection on;

      error_log ${dir}/oro_wss_error.log;
      access_log ${dir}/oro_wss_access.log;
    }`
}

export function nginxConfig (dir: string, port: number, upstreamPort: number, variant: ProxyPassVariant, blockSubpaths = false): string {
  const proxyPass = variant === 'slash' ? `http://127.0.0.1:${upstreamPort}/` : `http://127.0.0.1:${upstreamPort}/$is_args$args`
  return nginxMain(dir, `
  server {
    listen 127.0.0.1:${port};
    server_name localhost;
    ${blockSubpaths ? BLOCK_SUBPATHS : ''}
${oroWsLocation(dir, proxyPass)}
  }`)
}

/** Starts nginx on dir/nginx.conf and waits until it accepts connections on port. */
export async function spawnNginx (t: { teardown (fn: () => unknown): void }, dir: string, port: number, stderr: 'inherit' | 'ignore' = 'inherit', failure = ''): Promise<void> {
  if (nginxBinary === undefined) throw new Error('nginx is not installed')
  const child: ChildProcess = spawn(nginxBinary, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-g', 'daemon off; user root;'], { stdio: ['ignore', 'ignore', stderr] })
  t.teardown(() => { child.kill('SIGQUIT') })
  const end = Date.now() + 30_000
  while (!(await canConnect(port))) {
    if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode}${failure === '' ? '' : `: ${failure}`}`)
    if (Date.now() > end) throw new Error('nginx did not start in 30 s')
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

export async function startNginx (t: { teardown (fn: () => unknown): void }, upstreamPort: number, variant: ProxyPassVariant, blockSubpaths = false): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'gw-nginx-'))
  const port = await freePort()
  writeFileSync(join(dir, 'nginx.conf'), nginxConfig(dir, port, upstreamPort, variant, blockSubpaths))
  await spawnNginx(t, dir, port)
  return port
}
