<?php

declare(strict_types=1);

namespace OroWebsocketGateway\OroBundle\Tests;

use OroWebsocketGateway\OroBundle\Client\CurlTransport;
use OroWebsocketGateway\OroBundle\Client\HttpWebsocketClient;

/**
 * The HTTP client against real gateways. Deliveries are checked by the tap test that runs this
 * file (its WAMP subscribers); here: what the PHP side sees (results, time, log lines).
 */
final class HttpWebsocketClientTest extends GatewayTestCase
{
    private TestLogger $logger;

    protected function setUp(): void
    {
        $this->logger = new TestLogger();
    }

    /**
     * A socket that accepts connections (the kernel's backlog) and never answers: a silent
     * gateway, and a way to tell whether a connection was made at all.
     *
     * @return array{resource, string}
     */
    private static function listener(): array
    {
        $server = stream_socket_server('tcp://127.0.0.1:0', $errno, $errstr);
        self::assertIsResource($server, $errstr);

        return [$server, 'http://' . stream_socket_get_name($server, false) . '/publish'];
    }

    private function client(?string $url = null, array $options = []): HttpWebsocketClient
    {
        return new HttpWebsocketClient($url ?? self::env('GATEWAY_PUBLISH_URL'), self::env('GATEWAY_KEY'), $options + ['logger' => $this->logger]);
    }

    public function testPublishIsAcceptedAndDelivered(): void
    {
        self::assertTrue($this->client()->publish('oro/data/update', self::tags(self::tag('plain'))));
        self::assertSame([], $this->logger->at('error', 'warning'));
    }

    public function testEventPublishesToo(): void
    {
        self::assertTrue($this->client()->event('oro/data/update', self::tags(self::tag('event'))));
    }

    public function testPayloadOf100KilobytesIsDelivered(): void
    {
        $count = (int) self::env('GATEWAY_BIG_COUNT');
        $names = [];
        for ($i = 0; $i < $count; ++$i) {
            $names[] = self::tag(sprintf('big_%05d', $i));
        }
        $payload = self::tags(...$names);
        self::assertGreaterThan(100 * 1024, \strlen(json_encode($payload)));
        self::assertTrue($this->client()->publish('oro/data/update', $payload));
        self::assertSame([], $this->logger->at('error', 'warning'));
    }

    public function testExcludeAndEligibleArePassedOn(): void
    {
        [$first, $second] = explode(',', self::env('GATEWAY_SESSIONS'));
        $client = $this->client();
        self::assertTrue($client->publish('oro/data/update', self::tags(self::tag('eligible')), [], [$second]));
        self::assertTrue($client->publish('oro/data/update', self::tags(self::tag('exclude')), [$first]));
    }

    public function testRetriedAfter504WithTheSameIdempotencyKey(): void
    {
        // The proxy in front of the gateway passes the first POST on, then answers it 504.
        self::assertTrue($this->client(self::env('GATEWAY_RETRY_URL'))->publish('oro/data/update', self::tags(self::tag('retried'))));
        self::assertSame([], $this->logger->at('error', 'warning'));
    }

    public function testGatewayDownIsFalseWithinTheBoundWithOneLogLine(): void
    {
        $start = microtime(true);
        $result = $this->client(self::env('GATEWAY_DOWN_URL'))->publish('oro/data/update', self::tags(self::tag('down')));
        $elapsed = microtime(true) - $start;
        self::assertFalse($result);
        self::assertLessThan(1.0, $elapsed, 'refused connections: three attempts, well within 1 s');
        self::assertCount(1, $this->logger->records, 'one log line');
        self::assertSame('error', $this->logger->records[0]['level']);
        self::assertStringContainsString('Not published to oro/data/update after 3 attempt(s)', $this->logger->records[0]['message']);
        self::assertStringContainsString('not delivered', $this->logger->records[0]['message']);
    }

    public function testSilentGatewayIsFalseAfterTheTimeBound(): void
    {
        [$server, $url] = self::listener();
        $start = microtime(true);
        $result = $this->client($url, ['timeout' => 0.6])->publish('oro/data/update', self::tags(self::tag('silent')));
        $elapsed = microtime(true) - $start;
        fclose($server);
        self::assertFalse($result);
        self::assertGreaterThanOrEqual(0.55, $elapsed);
        self::assertLessThan(2.0, $elapsed, 'bounded by the timeout option (0.6 s), with room for a busy machine');
        self::assertCount(1, $this->logger->records);
        self::assertStringContainsString('may have delivered it', $this->logger->records[0]['message']);
    }

    public function testRefusalIsNotRetried(): void
    {
        self::assertFalse($this->client()->publish('gw/no/such/topic', ['x' => 1]));
        self::assertCount(1, $this->logger->records);
        self::assertStringContainsString('after 1 attempt(s)', $this->logger->records[0]['message']);
        self::assertStringContainsString('HTTP 404 GW_ERR_TOPIC_NOT_ROUTED', $this->logger->records[0]['message']);
    }

    public function testWrongKeySaysSo(): void
    {
        $client = new HttpWebsocketClient(self::env('GATEWAY_PUBLISH_URL'), 'not-the-key', ['logger' => $this->logger]);
        self::assertFalse($client->publish('oro/data/update', self::tags(self::tag('wrong_key'))));
        self::assertCount(1, $this->logger->records);
        self::assertStringContainsString('HTTP 401 GW_ERR_UNAUTHORIZED', $this->logger->records[0]['message']);
        self::assertStringNotContainsString('not-the-key', json_encode($this->logger->records));
    }

    public function testPayloadThatIsNotJsonIsFalseWithoutARequest(): void
    {
        [$server, $url] = self::listener();
        self::assertFalse($this->client($url)->publish('oro/data/update', ["\xB1\x31"]));
        self::assertFalse(@stream_socket_accept($server, 0), 'no connection was made');
        self::assertCount(1, $this->logger->records);
        self::assertStringContainsString('cannot be encoded as JSON', $this->logger->records[0]['message']);
    }

    public function testPrefixIsPerConnectionCurieState(): void
    {
        $client = $this->client();
        self::assertTrue($client->prefix('gw', 'http://example.com/gw'));
        self::assertFalse($client->publish('gw:thing', 'x'));
        self::assertSame('http://example.com/gw#thing', $this->logger->records[0]['context']['topic']);
        // A new connection starts without prefixes, as on Oro's server.
        self::assertTrue($client->disconnect());
        self::assertFalse($client->publish('gw:thing', 'x'));
        self::assertSame('gw:thing', $this->logger->records[1]['context']['topic']);
    }

    public function testCallIsRefusedWithoutARequest(): void
    {
        [$server, $url] = self::listener();
        self::assertFalse($this->client($url)->call('http://example.com/rpc', [1, 2]));
        self::assertFalse(@stream_socket_accept($server, 0), 'no connection was made');
        self::assertCount(1, $this->logger->records);
        self::assertSame('warning', $this->logger->records[0]['level']);
        self::assertStringContainsString('Oro defines no RPC', $this->logger->records[0]['message']);
    }

    public function testReadinessIsAskedOnceWhileRemembered(): void
    {
        // Through the counting proxy: the tap test checks it saw one GET /readyz.
        $client = $this->client(self::env('GATEWAY_RETRY_URL'), ['readiness_ttl' => 60]);
        self::assertTrue($client->isConnected());
        self::assertIsString($client->connect());
        self::assertTrue($client->isConnected());
        self::assertSame([], $this->logger->records);
    }

    public function testNotReadyWhenDown(): void
    {
        $client = $this->client(self::env('GATEWAY_DOWN_URL'), ['readiness_ttl' => 0]);
        self::assertFalse($client->isConnected());
        self::assertNull($client->connect());
        self::assertCount(1, $this->logger->records, 'one line when it turns not ready, not one per check');
        self::assertSame('warning', $this->logger->records[0]['level']);
    }

    public function testOneKeepAliveConnectionForManyPublishes(): void
    {
        // Through the proxy: the tap test checks all 21 requests came on one TCP connection.
        $url = self::env('GATEWAY_RETRY_URL');
        self::assertTrue($this->client($url)->publish('oro/data/update', self::tags(self::tag('keepalive_0'))));
        $opened = CurlTransport::connectionsOpened();
        for ($i = 1; $i <= 20; ++$i) {
            self::assertTrue($this->client($url)->publish('oro/data/update', self::tags(self::tag("keepalive_$i"))));
        }
        self::assertSame($opened, CurlTransport::connectionsOpened(), 'no new connection for 20 publishes from new client objects');
    }

    public function testTlsWithTheTestCa(): void
    {
        $url = self::env('GATEWAY_TLS_URL');
        self::assertTrue($this->client($url, ['ca_file' => self::env('GATEWAY_TLS_CA')])->publish('oro/data/update', self::tags(self::tag('tls'))));
        self::assertSame([], $this->logger->records);
    }

    public function testTlsWithoutTheCaIsRefusedAndSaysWhy(): void
    {
        self::assertFalse($this->client(self::env('GATEWAY_TLS_URL'))->publish('oro/data/update', self::tags(self::tag('tls_unknown_ca'))));
        self::assertCount(1, $this->logger->records);
        self::assertStringContainsString('after 1 attempt(s)', $this->logger->records[0]['message'], 'a certificate problem is not retried');
        self::assertStringContainsString('set ca_file', $this->logger->records[0]['message']);
    }

    public function testTlsWithoutVerification(): void
    {
        self::assertTrue($this->client(self::env('GATEWAY_TLS_URL'), ['verify' => false])->publish('oro/data/update', self::tags(self::tag('tls_unverified'))));
    }

    public function testDsnOptionsAreTakenOutOfTheUrl(): void
    {
        $dsn = self::env('GATEWAY_TLS_URL') . '?ca_file=' . rawurlencode(self::env('GATEWAY_TLS_CA')) . '&timeout=0.9&retries=1';
        self::assertTrue(HttpWebsocketClient::fromDsn($dsn, self::env('GATEWAY_KEY'), $this->logger)->publish('oro/data/update', self::tags(self::tag('dsn'))));
        self::assertSame([], $this->logger->records);
    }

    public function testUnknownOptionsAreAProgrammingError(): void
    {
        $this->expectException(\InvalidArgumentException::class);
        $this->expectExceptionMessage('Unknown option(s) retry');
        new HttpWebsocketClient('http://127.0.0.1/publish', 'k', ['retry' => 1]);
    }

    public function testBadSettingsNeverThrow(): void
    {
        $client = HttpWebsocketClient::fromDsn('ftp://example.com/publish', 'k', $this->logger);
        self::assertFalse($client->isConnected());
        self::assertFalse($client->isConnected());
        self::assertNull($client->connect());
        self::assertFalse($client->publish('oro/data/update', []));
        $client = HttpWebsocketClient::fromDsn(self::env('GATEWAY_PUBLISH_URL') . '?timeout=soon&retries=many', 'k', $this->logger);
        self::assertFalse($client->publish('oro/data/update', []));
        [$server, $url] = self::listener();
        $client = HttpWebsocketClient::fromDsn($url, "k\r\nX-Injected: 1", $this->logger);
        self::assertFalse($client->publish('oro/data/update', []));
        self::assertFalse(@stream_socket_accept($server, 0), 'no request with a broken key');
        self::assertSame(['warning', 'error', 'error', 'error'], array_column($this->logger->records, 'level'), 'one warning for readiness, one error per publish');
        self::assertStringContainsString('ORO_WEBSOCKET_PUBLISH_DSN', $this->logger->records[0]['message']);
        self::assertStringContainsString('Option timeout must be a number of seconds', $this->logger->records[2]['message']);
        self::assertStringContainsString('the publish key contains spaces or control characters', $this->logger->records[3]['message']);
    }
}
