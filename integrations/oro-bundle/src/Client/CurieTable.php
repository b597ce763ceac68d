<?php

declare(strict_types=1);

namespace OroWebsocketGateway\OroBundle\Client;

/**
 * WAMP v1 PREFIX state, as Oro's server (Ratchet 0.4, WampConnection::getUri) kept it per
 * connection, and as the gateway expands it (src/wamp/codec.ts): after prefix('p', 'http://x/y'),
 * a topic 'p:rest' means 'http://x/y#rest'. '#' is always added (a base ending in '#' gets a
 * second one, as in Ratchet). A topic with http:// or https:// anywhere in it, without a colon,
 * or with an undeclared prefix stays as it is.
 * One difference from Ratchet, on purpose: 'rest' is everything after the first colon
 * ('p:a:b' -> 'http://x/y#a:b'), where Ratchet's explode() kept only up to the second one
 * ('http://x/y#a', silently dropping ':b'). Oro's topics have no colon.
 */
final class CurieTable
{
    /** @var array<string, string> */
    private array $prefixes = [];

    public function declare(string $prefix, string $uri): void
    {
        $this->prefixes[$prefix] = $uri;
    }

    public function expand(string $uri): string
    {
        $colon = strpos($uri, ':');
        // Ratchet's test for a full URI: /http(s*)\:\/\// anywhere, case-sensitive.
        if ($colon === false || preg_match('~https*://~', $uri) === 1) {
            return $uri;
        }
        $base = $this->prefixes[substr($uri, 0, $colon)] ?? null;
        if ($base === null) {
            return $uri;
        }

        return $base . '#' . substr($uri, $colon + 1);
    }

    /** A new connection starts with no prefixes. */
    public function clear(): void
    {
        $this->prefixes = [];
    }
}
