// CIDR lists (ORO_WEBSOCKET_BACKEND_NETWORKS, ORO_WEBSOCKET_TRUSTED_PROXIES) on node's BlockList.
import { BlockList, isIP } from 'node:net'

export class NetworkListError extends Error {}

export interface NetworkList {
  has (address: string | undefined): boolean
  readonly text: string
}

/** '::ffff:127.0.0.1' → '127.0.0.1', so IPv4 rules match IPv4 peers on dual-stack sockets. */
export function normalizeAddress (address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
  return mapped?.[1] ?? address
}

export function parseNetworks (text: string): NetworkList {
  const list = new BlockList()
  for (const entry of text.split(',').map((e) => e.trim()).filter((e) => e !== '')) {
    const [address, bits, extra] = entry.split('/')
    const family = isIP(address ?? '')
    if (family === 0 || extra !== undefined) throw new NetworkListError(`"${entry}" is not an address or CIDR network`)
    const max = family === 4 ? 32 : 128
    const prefix = bits === undefined ? max : Number(bits)
    if (!/^\d+$/.test(bits ?? String(max)) || prefix > max) throw new NetworkListError(`"${entry}" has a prefix length outside 0-${max}`)
    list.addSubnet(address as string, prefix, family === 4 ? 'ipv4' : 'ipv6')
  }
  return {
    text,
    has (address) {
      if (address === undefined) return false
      const normal = normalizeAddress(address)
      const family = isIP(normal)
      return family !== 0 && list.check(normal, family === 4 ? 'ipv4' : 'ipv6')
    }
  }
}
