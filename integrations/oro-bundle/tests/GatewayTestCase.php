<?php

declare(strict_types=1);

namespace OroWebsocketGateway\OroBundle\Tests;

use PHPUnit\Framework\TestCase;

/**
 * The gateways test/oro-bundle.test.ts started for these tests, from GATEWAY_* variables. The
 * test there subscribes to what these tests publish and checks what arrived.
 */
abstract class GatewayTestCase extends TestCase
{
    /** The tag names a test publishes: Gw_<run>_<what>, the run id from the tap test. */
    protected static function tag(string $what): string
    {
        return 'Gw_' . self::env('GATEWAY_RUN') . '_' . $what;
    }

    /** @return list<array{username: null, tagname: string}> what oro/data/update carries */
    protected static function tags(string ...$names): array
    {
        return array_map(static fn (string $name): array => ['username' => null, 'tagname' => $name], $names);
    }

    protected static function env(string $name): string
    {
        $value = getenv($name);
        if (!\is_string($value) || $value === '') {
            self::markTestSkipped("$name is not set: run these tests through the gateway's npm test (test/oro-bundle.test.ts)");
        }

        return $value;
    }
}
