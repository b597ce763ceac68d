// Where a client really is, and whether it came through a proxy. The forwarding headers count
// only when the peer is a trusted proxy; their mere presence marks a proxied (browser) client.
import type { NetworkList } from './networks.js'
import { normalizeAddress } from './networks.js'

export type Headers = Record<string, string | string[] | undefined>

function first (value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value
}

// Headers only a proxy adds. Any one of them (X-Forwarded-Host or -Proto alone included) means
// the connection was relayed, so its loopback peer address says nothing about the client.
const FORWARDING_HEADERS = new Set([
  'forwarded', 'via', 'x-real-ip', 'x-nginx-proxy', 'x-client-ip', 'x-cluster-client-ip',
  'true-client-ip', 'cf-connecting-ip', 'fastly-client-ip', 'x-original-forwarded-for'
])

/** Any forwarding header (X-Forwarded-*, Forwarded, X-Real-IP, Via, ...): the request came through a proxy. */
export function hasForwardingHeaders (headers: Headers): boolean {
  for (const name in headers) {
    if (headers[name] === undefined) continue
    const lower = name.toLowerCase()
    if (lower.startsWith('x-forwarded-') || FORWARDING_HEADERS.has(lower)) return true
  }
  return false
}

/** The client's address for logs: from the forwarding headers when the peer is a trusted proxy. */
export function clientAddress (peer: string | undefined, headers: Headers, trustedProxies: NetworkList): string {
  const direct = peer === undefined ? 'unknown' : normalizeAddress(peer)
  if (!trustedProxies.has(direct)) return direct
  const forwardedFor = first(headers['x-forwarded-for'])
  if (forwardedFor !== undefined) {
    // The right-most address that is not a trusted proxy is the client.
    const hops = forwardedFor.split(',').map((h) => h.trim()).filter((h) => h !== '')
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = normalizeAddress(hops[i] as string)
      if (!trustedProxies.has(hop)) return hop
    }
    if (hops[0] !== undefined) return normalizeAddress(hops[0])
  }
  const realIp = first(headers['x-real-ip'])?.trim()
  if (realIp !== undefined && realIp !== '') return normalizeAddress(realIp)
  const forwarded = /for="?\[?([^\]";,]+)/i.exec(first(headers.forwarded) ?? '')
  if (forwarded?.[1] !== undefined) return normalizeAddress(forwarded[1])
  return direct
}
