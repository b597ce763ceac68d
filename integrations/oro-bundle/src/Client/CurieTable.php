<?php

declare(strict_types=1);

namespace OroWebsocketGateway\OroBundle\Client;

/**
 * WAMP v1 PREFIX state, as Oro's server kept it per connection: after prefix('p', 'http://x/y'),
 * a topic 'p:rest' means 'http://x/y#rest'. Topics starting with http:// or https://, without a
 * colon, or with an undeclared prefix stay as they are.
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
        if ($colon === false || str_starts_with($uri, 'http://') || str_starts_with($uri, 'https://')) {
            return $uri;
        }
        $base = $this->prefixes[substr($uri, 0, $colon)] ?? null;
        if ($base === null) {
            return $uri;
        }

        return (str_ends_with($base, '#') ? $base : $base . '#') . substr($uri, $colon + 1);
    }

    /** A new connection starts with no prefixes. */
    public function clear(): void
    {
        $this->prefixes = [];
    }
}
