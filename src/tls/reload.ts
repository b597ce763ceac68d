// SIGHUP: every TLS listener reads its certificate files again and swaps its secure context
// (tls.Server#setSecureContext), and the topic routing files are read again (plugins/topics.ts). Open sessions keep the context they were made with; new
// handshakes get the new one. Files that do not load leave the old certificate in place, and the
// log says which option to fix.
import type { Server as TlsServer } from 'node:tls'
import { ConfigError } from '../config/errors.js'
import { httpsOptions, loadListenerTls, type ListenerTls } from './context-options.js'
import type { GatewayLogger } from '../logger.js'

export interface TlsListener {
  /** What it serves, for logs ("websocket", "publish"). */
  name: string
  server: TlsServer
  tls: ListenerTls
}

/** Reloads each listener's certificate; resolves with how many were replaced. */
export function reloadCertificates (listeners: readonly TlsListener[], log: GatewayLogger): number {
  let reloaded = 0
  for (const { name, server, tls } of listeners) {
    let options
    try {
      options = loadListenerTls(tls, tls.base ?? process.cwd())
    } catch (err) {
      const text = err instanceof ConfigError ? err.message : (err as Error).message
      log.error({ listener: name, setting: tls.setting }, `certificate reload failed, the ${name} listener keeps its old certificate: ${text}`)
      continue
    }
    const { requestCert: _requestCert, rejectUnauthorized: _rejectUnauthorized, ...context } = httpsOptions(options)
    // The listener holds the new context; the configuration (frozen) keeps what was read at start.
    server.setSecureContext(context)
    reloaded++
    log.notice({ listener: name, cert: options.files.cert, subject: options.certificate.subject, validTo: options.certificate.validTo, fingerprint256: options.certificate.fingerprint256 },
      `certificate reloaded for the ${name} listener: ${options.certificate.subject}, valid to ${options.certificate.validTo}`)
  }
  return reloaded
}

/**
 * Reloads on every SIGHUP: the TLS listeners' certificates, then every other file-based setting
 * (`reloadFiles`: the topic routing files). Returns the function that stops listening for it.
 * SIGHUP never stops the gateway: `systemctl reload` and `supervisorctl signal HUP` must never
 * drop every session.
 */
export function reloadOnSighup (listeners: readonly TlsListener[], log: GatewayLogger, reloadFiles?: () => void): () => void {
  const onHup = (): void => {
    log.notice({ signal: 'SIGHUP' }, `SIGHUP: re-reading ${listeners.length > 0 ? 'the TLS certificates and ' : ''}the topic routing files; the gateway keeps running`)
    if (listeners.length > 0) reloadCertificates(listeners, log)
    try {
      reloadFiles?.()
    } catch (err) {
      log.error({ err }, 'SIGHUP: re-reading the topic routing files failed; the rules in effect stay')
    }
  }
  process.on('SIGHUP', onHup)
  return () => { process.removeListener('SIGHUP', onHup) }
}
