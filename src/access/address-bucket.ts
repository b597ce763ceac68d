// The unit per-client limits count in: an IPv4 /24 or an IPv6 /64. One attacker rarely holds a
// single address (an IPv6 host usually has a whole /64, a rented server often several IPv4
// neighbours), so limits per exact address would be dodged by moving to the next one.
import { isIPv4, isIPv6 } from 'node:net'
import { normalizeAddress } from './networks.js'

/** '203.0.113.9' → '203.0.113.0/24'; '2001:db8:1:2::5' → '2001:db8:1:2::/64'; anything else as it is. */
export function addressBucket (address: string): string {
  const normal = normalizeAddress(address)
  if (isIPv4(normal)) return `${normal.slice(0, normal.lastIndexOf('.'))}.0/24`
  if (isIPv6(normal)) return `${firstFourGroups(normal)}::/64`
  return normal
}

// The first 64 bits of an IPv6 address as four hex groups, '::' expanded.
function firstFourGroups (address: string): string {
  const withoutZone = address.split('%')[0] as string
  const [head = '', tail] = withoutZone.split('::') as [string, string | undefined]
  const headGroups = head === '' ? [] : head.split(':')
  let groups = headGroups
  if (tail !== undefined) {
    const tailGroups = tail === '' ? [] : tail.split(':')
    // An embedded IPv4 tail (::ffff:1.2.3.4) counts as two groups.
    const tailLength = tailGroups.reduce((n, g) => n + (g.includes('.') ? 2 : 1), 0)
    groups = [...headGroups, ...Array<string>(Math.max(0, 8 - headGroups.length - tailLength)).fill('0'), ...tailGroups]
  }
  return groups.slice(0, 4).map((g) => (g.includes('.') ? '0' : g.toLowerCase().replace(/^0+(?=.)/, ''))).join(':')
}

/**
 * The wider aggregate a network belongs to, where suspicion spreads when many of its networks
 * fail: '203.0.113.9' → '203.0.0.0/16'; an IPv6 address → its /48 (a site: 65,536 /64s).
 */
export function addressAggregate (address: string): string {
  const normal = normalizeAddress(address)
  if (isIPv4(normal)) return `${normal.split('.').slice(0, 2).join('.')}.0.0/16`
  if (isIPv6(normal)) return `${firstFourGroups(normal).split(':').slice(0, 3).join(':')}::/48`
  return normal
}
