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

export function nginxConfig (dir: string, port: number, upstreamPort: number, variant: ProxyPassVariant, blockSubpaths = false): string {
  const proxyPass = variant === 'slash' ? `http://127.0.0.1:${upstreamPort}/` : `http://127.0.0.1:${upstreamPort}/$is_args$args`
  return `
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  access_log off;
  server {
    listen 127.0.0.1:${port};
    server_name localhost;
    ${blockSubpaths ? BLOCK_SUBPATHS : ''}
    # From Oro's documentation (shared/seeds), logs moved to the test's directory.
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
    }
  }
}
`
}

export async function startNginx (t: { teardown (fn: () => unknown): void }, upstreamPort: number, variant: ProxyPassVariant, blockSubpaths = false): Promise<number> {
  if (nginxBinary === undefined) throw new Error('nginx is not installed')
  const dir = mkdtempSync(join(tmpdir(), 'gw-nginx-'))
  const port = await freePort()
  writeFileSync(join(dir, 'nginx.conf'), nginxConfig(dir, port, upstreamPort, variant, blockSubpaths))
  const child: ChildProcess = spawn(nginxBinary, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-g', 'daemon off; user root;'], { stdio: ['ignore', 'inherit', 'inherit'] })
  t.teardown(() => { child.kill('SIGQUIT') })
  const end = Date.now() + 10_000
  while (!(await canConnect(port))) {
    if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode}`)
    if (Date.now() > end) throw new Error('nginx did not start in 10 s')
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return port
}
