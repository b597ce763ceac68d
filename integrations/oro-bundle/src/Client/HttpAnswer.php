<?php

declare(strict_types=1);

namespace OroWebsocketGateway\OroBundle\Client;

/**
 * What one HTTP request got: a status, or status 0 and curl's error when no answer came; $sent
 * says whether the request went out at all (false: the connection was never made, so the gateway
 * cannot have taken it).
 */
final class HttpAnswer
{
    public function __construct(
        public readonly int $status,
        public readonly string $body,
        public readonly string $error,
        public readonly int $errno,
        public readonly bool $sent = true,
    ) {
    }

    /** The gateway's GW_ERR_* code and message from an error body, when it has them. */
    public function describe(): string
    {
        if ($this->status === 0) {
            return $this->error;
        }
        $decoded = json_decode($this->body, true);
        if (\is_array($decoded) && isset($decoded['code'], $decoded['message']) && \is_string($decoded['code'])) {
            return sprintf('HTTP %d %s: %s', $this->status, $decoded['code'], (string) $decoded['message']);
        }

        return sprintf('HTTP %d', $this->status);
    }
}
