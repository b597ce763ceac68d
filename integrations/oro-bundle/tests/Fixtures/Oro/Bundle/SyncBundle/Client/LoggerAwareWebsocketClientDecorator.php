<?php

namespace Oro\Bundle\SyncBundle\Client;

use Psr\Log\LoggerAwareInterface;
use Psr\Log\LoggerAwareTrait;
use Psr\Log\NullLogger;

/**
 * Oro's logger decorator: the constructor takes the decorated client, setLogger() the logger;
 * each call is passed on and logged at debug ("PUBLISH in {topic} websocket server", ...); the
 * exceptions Oro's WAMP client throws are logged at error and turned into false/null.
 */
class LoggerAwareWebsocketClientDecorator implements WebsocketClientInterface, LoggerAwareInterface
{
    use LoggerAwareTrait;

    private WebsocketClientInterface $decoratedClient;

    public function __construct(WebsocketClientInterface $decoratedClient)
    {
        $this->decoratedClient = $decoratedClient;
        $this->setLogger(new NullLogger());
    }

    public function getDecoratedClient(): WebsocketClientInterface
    {
        return $this->decoratedClient;
    }

    public function connect(): ?string
    {
        try {
            $result = $this->decoratedClient->connect();
            $this->logger->debug('Connected to websocket server');

            return $result;
        } catch (\RuntimeException $e) {
            $this->logger->error('Could not connect to websocket server', [$e]);

            return null;
        }
    }

    public function disconnect(): bool
    {
        $result = $this->decoratedClient->disconnect();
        if ($result) {
            $this->logger->debug('Disconnected from websocket server');
        }

        return $result;
    }

    public function isConnected(): bool
    {
        return $this->decoratedClient->isConnected();
    }

    public function publish(string $topicUri, $payload, array $exclude = [], array $eligible = []): bool
    {
        return $this->guard(fn () => $this->decoratedClient->publish($topicUri, $payload, $exclude, $eligible), sprintf('PUBLISH in %s websocket server', $topicUri));
    }

    public function prefix(string $prefix, string $uri): bool
    {
        return $this->guard(fn () => $this->decoratedClient->prefix($prefix, $uri), sprintf('PREFIX %s in %s websocket server', $prefix, $uri));
    }

    public function call(string $procUri, array $arguments = []): bool
    {
        return $this->guard(fn () => $this->decoratedClient->call($procUri, $arguments), sprintf('CALL in %s websocket server', $procUri));
    }

    public function event(string $topicUri, $payload): bool
    {
        return $this->guard(fn () => $this->decoratedClient->event($topicUri, $payload), sprintf('EVENT in %s websocket server', $topicUri));
    }

    private function guard(callable $call, string $debug): bool
    {
        try {
            $result = $call();
            $this->logger->debug($debug);

            return $result;
        } catch (\RuntimeException $e) {
            $this->logger->error('Could not send data to websocket server', [$e]);

            return false;
        }
    }
}
