<?php

namespace Oro\Bundle\SyncBundle\Client;

/**
 * Stands for Oro's WAMP client (oro_sync.websocket_client.basic): raw TCP to the BACKEND DSN.
 * Here it only records that it was used; the tests check it is not, or is, in the chain.
 */
class WebsocketClient implements WebsocketClientInterface
{
    public array $calls = [];

    public function connect(): ?string
    {
        $this->calls[] = 'connect';

        return null;
    }

    public function disconnect(): bool
    {
        $this->calls[] = 'disconnect';

        return true;
    }

    public function isConnected(): bool
    {
        $this->calls[] = 'isConnected';

        return false;
    }

    public function publish(string $topicUri, $payload, array $exclude = [], array $eligible = []): bool
    {
        $this->calls[] = 'publish';

        return false;
    }

    public function prefix(string $prefix, string $uri): bool
    {
        $this->calls[] = 'prefix';

        return false;
    }

    public function call(string $procUri, array $arguments = []): bool
    {
        $this->calls[] = 'call';

        return false;
    }

    public function event(string $topicUri, $payload): bool
    {
        $this->calls[] = 'event';

        return false;
    }
}
