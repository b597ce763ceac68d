<?php

namespace Oro\Bundle\SyncBundle\Client;

use Oro\Bundle\DistributionBundle\Handler\ApplicationState;
use Psr\Log\LoggerAwareInterface;
use Psr\Log\LoggerAwareTrait;
use Psr\Log\NullLogger;

/**
 * Oro's ConnectionChecker (5.1+): connect(), any Throwable means "no" (logged when the
 * application is installed), else the answer is isConnected().
 */
class ConnectionChecker implements LoggerAwareInterface
{
    use LoggerAwareTrait;

    private WebsocketClientInterface $client;
    private ApplicationState $applicationState;

    public function __construct(WebsocketClientInterface $client, ApplicationState $applicationState)
    {
        $this->client = $client;
        $this->applicationState = $applicationState;
        $this->logger = new NullLogger();
    }

    public function checkConnection()
    {
        try {
            $this->client->connect();
        } catch (\Throwable $exception) {
            if ($this->applicationState->isInstalled()) {
                $this->logger->error('Failed to connect to websocket server: {message}', ['message' => $exception->getMessage(), 'e' => $exception]);
            }

            return false;
        }

        return $this->client->isConnected();
    }
}
