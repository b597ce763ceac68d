<?php

namespace Oro\Bundle\SyncBundle\Client;

/** Oro's interface (5.1 to 7.x signatures). */
interface WebsocketClientInterface
{
    public function connect(): ?string;

    public function disconnect(): bool;

    public function isConnected(): bool;

    public function publish(string $topicUri, $payload, array $exclude = [], array $eligible = []): bool;

    public function prefix(string $prefix, string $uri): bool;

    public function call(string $procUri, array $arguments = []): bool;

    public function event(string $topicUri, $payload): bool;
}
