// Whether an upgrade comes from Oro's PHP backend and may publish: straight from a backend
// network (no forwarding headers), or through a trusted proxy (nginx's `listen 443 ssl` block, for
// a BACKEND DSN such as ssl://*:443/ws) that says the client is in a backend network.
//
// Through a proxy, every client address it forwards must be in the backend networks: each
// X-Forwarded-For hop (a client may write hops of its own on the left; nginx's
// $proxy_add_x_forwarded_for appends the address it saw on the right), X-Real-IP and Forwarded's
// for=. So a browser that forges "X-Forwarded-For: 127.0.0.1" still has its own address appended
// and may not publish; a proxy that forwards no client address at all does not make a backend.
import type { NetworkList } from './networks.js'
import { forwardedIp, hasForwardingHeaders, type Headers } from './client-address.js'
import { normalizeAddress } from './networks.js'

function values (value: string | string[] | undefined): string[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value]
}

/** Every client address the proxy forwarded; null when one of them is not an IP (forged or obfuscated). */
export function forwardedAddresses (headers: Headers): string[] | null {
  const raw: string[] = []
  for (const line of values(headers['x-forwarded-for'])) raw.push(...line.split(','))
  raw.push(...values(headers['x-real-ip']))
  for (const line of values(headers.forwarded)) {
    for (const match of line.matchAll(/for="?(\[[^\]]+\](?::\d+)?|[^";,\s]+)/gi)) raw.push(match[1] as string)
  }
  const addresses: string[] = []
  for (const text of raw) {
    const ip = forwardedIp(text)
    if (ip === undefined) return null
    addresses.push(ip)
  }
  return addresses
}

export interface PublisherCheck {
  backendNetworks: NetworkList
  trustedProxies: NetworkList
}

/** True when the connection is a backend's: direct from a backend network, or relayed by a trusted proxy for one. */
export function mayPublish (peer: string | undefined, headers: Headers, access: PublisherCheck): boolean {
  if (!hasForwardingHeaders(headers)) return access.backendNetworks.has(peer)
  if (peer === undefined || !access.trustedProxies.has(normalizeAddress(peer))) return false
  const addresses = forwardedAddresses(headers)
  if (addresses === null || addresses.length === 0) return false
  return addresses.every((address) => access.backendNetworks.has(address))
}
