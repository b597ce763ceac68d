<?php

declare(strict_types=1);

namespace OroWebsocketGateway\OroBundle\Client;

/**
 * One HTTP request at a time over one curl handle per process: the handle, and with it the
 * keep-alive connection (and TLS session), outlives the client objects, so a message-queue
 * consumer that runs for hours opens one connection, not one per event.
 */
final class CurlTransport
{
    private static ?\CurlHandle $handle = null;

    /** The process that made the handle: a forked child must not share the parent's socket. */
    private static int $pid = 0;

    private static int $opened = 0;

    /**
     * @param list<string> $headers
     * @param array{ca_file: ?string, verify: bool, connect_timeout: float, user_agent: string} $settings
     */
    public static function request(string $method, string $url, ?string $body, array $headers, array $settings, float $timeout): HttpAnswer
    {
        $handle = self::handle();
        // Options back to their defaults; the connection cache, DNS cache and TLS sessions stay.
        curl_reset($handle);
        $options = [
            \CURLOPT_URL => $url,
            \CURLOPT_RETURNTRANSFER => true,
            \CURLOPT_HEADER => false,
            \CURLOPT_FOLLOWLOCATION => false,
            \CURLOPT_PROTOCOLS => \CURLPROTO_HTTP | \CURLPROTO_HTTPS,
            \CURLOPT_HTTP_VERSION => \CURL_HTTP_VERSION_1_1,
            // Timeouts under a second need it with the default (synchronous) resolver.
            \CURLOPT_NOSIGNAL => true,
            \CURLOPT_CONNECTTIMEOUT_MS => max(1, (int) round(min($settings['connect_timeout'], $timeout) * 1000)),
            \CURLOPT_TIMEOUT_MS => max(1, (int) round($timeout * 1000)),
            \CURLOPT_TCP_NODELAY => true,
            \CURLOPT_TCP_KEEPALIVE => 1,
            \CURLOPT_SSL_VERIFYPEER => $settings['verify'],
            \CURLOPT_SSL_VERIFYHOST => $settings['verify'] ? 2 : 0,
            \CURLOPT_USERAGENT => $settings['user_agent'],
            // No "Expect: 100-continue" for larger bodies: it costs a round trip (or a 1 s wait).
            \CURLOPT_HTTPHEADER => [...$headers, 'Expect:'],
            \CURLOPT_CUSTOMREQUEST => $method,
        ];
        if ($settings['ca_file'] !== null) {
            $options[\CURLOPT_CAINFO] = $settings['ca_file'];
        }
        if ($body !== null) {
            $options[\CURLOPT_POSTFIELDS] = $body;
        }
        if (!curl_setopt_array($handle, $options)) {
            return new HttpAnswer(0, '', curl_error($handle) ?: 'curl refused an option', curl_errno($handle));
        }
        $responseBody = curl_exec($handle);
        $errno = curl_errno($handle);
        self::$opened += (int) curl_getinfo($handle, \CURLINFO_NUM_CONNECTS);
        if ($errno !== 0 || !\is_string($responseBody)) {
            return new HttpAnswer(0, '', curl_error($handle), $errno, (int) curl_getinfo($handle, \CURLINFO_REQUEST_SIZE) > 0);
        }

        return new HttpAnswer((int) curl_getinfo($handle, \CURLINFO_RESPONSE_CODE), $responseBody, '', 0);
    }

    /** Closes the connection; the next request opens a new one. */
    public static function close(): void
    {
        // Dropping the last reference frees the handle and closes its connection. No
        // curl_close(): a no-op since PHP 8.0 (handles are objects), deprecated in PHP 8.5.
        self::$handle = null;
    }

    /** Connections the process's handle opened so far (a benchmark reads it). */
    public static function connectionsOpened(): int
    {
        return self::$opened;
    }

    private static function handle(): \CurlHandle
    {
        $pid = getmypid() ?: 0;
        if (self::$handle === null || self::$pid !== $pid) {
            self::$handle = curl_init() ?: throw new \RuntimeException('curl_init() failed');
            self::$pid = $pid;
        }

        return self::$handle;
    }
}
