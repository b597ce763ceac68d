<?php

declare(strict_types=1);

namespace OroWebsocketGateway\OroBundle\Tests;

use OroWebsocketGateway\OroBundle\Client\CurieTable;
use PHPUnit\Framework\TestCase;

/** The bundle expands CURIEs as Ratchet 0.4's WampConnection::getUri and the gateway (src/wamp/codec.ts). */
final class CurieTableTest extends TestCase
{
    /** @return iterable<string, array{string, string}> */
    private static function cases(): iterable
    {
        yield 'declared prefix' => ['ev:created', 'http://example.com/event#created'];
        yield 'a base ending in # gets another #' => ['h:y', 'http://example.com/x##y'];
        yield 'a full URI' => ['http://example.com/event#created', 'http://example.com/event#created'];
        yield 'http:// anywhere' => ['ev:see-http://example.com/', 'ev:see-http://example.com/'];
        yield 'https:// anywhere' => ['ev:https://x', 'ev:https://x'];
        yield 'Ratchet\'s pattern is http(s*)://' => ['ev:httpss://x', 'ev:httpss://x'];
        yield 'the pattern is case-sensitive' => ['ev:HTTP://x', 'http://example.com/event#HTTP://x'];
        yield 'ours: the rest after the first colon is kept' => ['ev:a:b', 'http://example.com/event#a:b'];
        yield 'an empty prefix, declared' => [':x', 'urn:empty#x'];
        yield 'an undeclared prefix' => ['other:x', 'other:x'];
        yield 'no colon (Oro\'s topics)' => ['oro/data/update', 'oro/data/update'];
    }

    // One test method (no data provider): test/oro-bundle.test.ts counts the test methods.
    public function testExpandsAsRatchet(): void
    {
        $table = new CurieTable();
        $table->declare('ev', 'http://example.com/event');
        $table->declare('h', 'http://example.com/x#');
        $table->declare('', 'urn:empty');
        foreach (self::cases() as $what => [$topic, $expected]) {
            self::assertSame($expected, $table->expand($topic), $what);
        }
        $table->clear();
        foreach (self::cases() as $what => [$topic]) {
            self::assertSame($topic, $table->expand($topic), "cleared: $what");
        }
    }
}
