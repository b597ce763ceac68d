<?php

declare(strict_types=1);

namespace OroWebsocketGateway\OroBundle\Client;

use Oro\Bundle\SyncBundle\Client\WebsocketClientInterface;

/**
 * Decides, when oro_sync.websocket_client is first used in a process (not when the container is
 * built), which client Oro gets: the HTTP client when ORO_WEBSOCKET_PUBLISH_DSN and
 * ORO_WEBSOCKET_PUBLISH_KEY are both set and not empty, else Oro's own client (what the alias
 * pointed at before). So a cache warmed without them (a Docker image build) still switches once
 * they are set, and without them the bundle changes nothing. Only the chosen client is made.
 */
final class WebsocketClientSelector
{
    /**
     * @param \Closure(): WebsocketClientInterface $http the HTTP client
     * @param \Closure(): WebsocketClientInterface $original Oro's client (the alias's previous target)
     */
    public static function select(mixed $dsn, mixed $key, \Closure $http, \Closure $original): WebsocketClientInterface
    {
        return self::isSet($dsn) && self::isSet($key) ? $http() : $original();
    }

    private static function isSet(mixed $value): bool
    {
        return \is_string($value) && trim($value) !== '';
    }
}
