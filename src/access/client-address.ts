// Where a client really is, and whether it came through a proxy. The forwarding headers count
// only when the peer is a trusted proxy; their mere presence marks a proxied (browser) client.
import type { NetworkList } from './networks.js'
import { isIP } from 'node:net'
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

// A forwarded address as an IP, or undefined: '[2001:db8::1]:443' and '203.0.113.9:5678' lose
// their port; anything that is not an IP (a forged header's text) is ignored, so what reaches the
// logs and the per-network limits is always a short, real address.
export function forwardedIp (value: string): string | undefined {
  let text = value.trim()
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(text)
  if (bracketed !== null) text = bracketed[1] as string
  else if (/^\d+\.\d+\.\d+\.\d+:\d+$/.test(text)) text = text.slice(0, text.lastIndexOf(':'))
  const normal = normalizeAddress(text)
  return isIP(normal) === 0 ? undefined : normal
}

/** The client's address for logs and limits: from the forwarding headers when the peer is a trusted proxy. */
export function clientAddress (peer: string | undefined, headers: Headers, trustedProxies: NetworkList): string {
  const direct = peer === undefined ? 'unknown' : normalizeAddress(peer)
  if (!trustedProxies.has(direct)) return direct
  const forwardedFor = first(headers['x-forwarded-for'])
  if (forwardedFor !== undefined) {
    // The right-most address that is not a trusted proxy is the client (the left ones are
    // whatever the client wrote).
    const hops = forwardedFor.split(',').map(forwardedIp).filter((h): h is string => h !== undefined)
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = hops[i] as string
      if (!trustedProxies.has(hop)) return hop
    }
    if (hops[0] !== undefined) return hops[0]
  }
  const realIp = forwardedIp(first(headers['x-real-ip']) ?? '')
  if (realIp !== undefined) return realIp
  const forwarded = /for="?(\[[^\]]+\](?::\d+)?|[^";,\s]+)/i.exec(first(headers.forwarded) ?? '')
  const forwardedAddress = forwarded?.[1] === undefined ? undefined : forwardedIp(forwarded[1])
  return forwardedAddress ?? direct
}
