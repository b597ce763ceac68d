// What `serve` warns about at start, after the start line: settings that work but lose something
// in a way an operator would only find out later (Oro's backend publishing from an address the
// gateway refuses), and a Node.js the gateway is not supported on. Pure: the caller logs them.
import { isIP } from 'node:net'
import type { LoadedConfig } from './config/load.js'
import { normalizeAddress } from './access/networks.js'
import { SUPPORTED_NODE_MAJORS } from './version.js'

export interface StartWarning {
  fields: Record<string, unknown>
  msg: string
}

/** Loopback, as a host of the BACKEND DSN: the PHP backend then connects from loopback too. */
function isLoopbackHost (host: string): boolean {
  const bare = normalizeAddress(host.replace(/^\[|\]$/g, '').toLowerCase())
  return bare === 'localhost' || bare === '::1' || /^127\.\d+\.\d+\.\d+$/.test(bare)
}

/** Whether every entry of a CIDR list is a loopback network (the default, 127.0.0.0/8,::1/128). */
function loopbackOnly (networks: string): boolean {
  return networks.split(',').map((e) => e.trim()).filter((e) => e !== '').every((entry) => {
    const [address = '', bits] = entry.split('/')
    if (isIP(address) === 4) return address.startsWith('127.') && Number(bits ?? 32) >= 8
    return address === '::1' && Number(bits ?? 128) === 128
  })
}

/**
 * Oro's backend connects to the BACKEND DSN's host: when that is not loopback (another container,
 * the Service name in Kubernetes, this host's own address), it connects from a non-loopback
 * address, which a loopback-only ORO_WEBSOCKET_BACKEND_NETWORKS refuses: every publish is lost.
 */
export function backendNetworkWarning (loaded: LoadedConfig): StartWarning | undefined {
  const host = loaded.gateway.backend.host
  const networks = loaded.settings.ORO_WEBSOCKET_BACKEND_NETWORKS
  if (isLoopbackHost(host)) return undefined
  const ip = isIP(host.replace(/^\[|\]$/g, '')) !== 0
  if (ip ? loaded.gateway.access.backendNetworks.has(host.replace(/^\[|\]$/g, '')) : !loopbackOnly(networks)) return undefined
  return {
    fields: { setting: 'ORO_WEBSOCKET_BACKEND_NETWORKS', backendNetworks: networks, backendHost: host },
    msg: `ORO_WEBSOCKET_BACKEND_DSN points Oro's backend at ${host}, not at loopback, but ORO_WEBSOCKET_BACKEND_NETWORKS is ${networks}: ` +
      'a backend connecting from another host or container is refused and its publishes are lost; add its network, e.g. ' +
      `ORO_WEBSOCKET_BACKEND_NETWORKS="${networks},10.0.5.0/24" (the first refused publish of each address is logged at error)`
  }
}

/**
 * A Node.js the gateway is not supported on: a warning, never a refusal to start. Older than
 * package.json's engines (">=22"): no more fixes. An odd major (23, 25): never an LTS, its fixes
 * end six months after its release, and CI does not test it. A newer even major than those
 * supported (SUPPORTED_NODE_MAJORS): not tested yet.
 */
export function nodeVersionWarning (nodeVersion: string, engine: string, supported: readonly number[] = SUPPORTED_NODE_MAJORS): StartWarning | undefined {
  const wanted = /^>=\s*(\d+)/.exec(engine.trim())?.[1]
  const major = Number(/^v?(\d+)/.exec(nodeVersion)?.[1])
  if (!Number.isFinite(major) || supported.includes(major)) return undefined
  const install = `install Node.js ${supported.join(' or ')} (README.md, Quick start, says how on Debian, Ubuntu and RHEL)`
  const fields = { node: nodeVersion, engines: engine, supported: supported.join(', ') }
  if (wanted !== undefined && major < Number(wanted)) {
    return { fields, msg: `Node.js ${nodeVersion} is not supported (package.json engines: node ${engine}; Node.js ${major} gets no more fixes): ${install}` }
  }
  if (major % 2 === 1) {
    return { fields, msg: `Node.js ${nodeVersion} is not supported: an odd-numbered release, never LTS, whose fixes end six months after its release, and not tested by CI: ${install}` }
  }
  const newest = Math.max(...supported)
  if (major > newest) {
    return { fields, msg: `Node.js ${nodeVersion} is newer than the versions tested (${supported.join(', ')}): it will likely work, but is not supported yet; for support, ${install}` }
  }
  return undefined
}

export function startWarnings (loaded: LoadedConfig, nodeVersion: string, engine: string): StartWarning[] {
  return [backendNetworkWarning(loaded), nodeVersionWarning(nodeVersion, engine)].filter((w): w is StartWarning => w !== undefined)
}
