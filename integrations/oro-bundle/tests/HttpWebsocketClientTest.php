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

    /**
     * A socket whose accept queue is full, so that the kernel drops new SYNs: a connect that
     * never completes (the connect-timeout path), on any machine, without an unroutable address.
     *
     * @return array{resource, list<resource>, string}
     */
    private static function fullListener(): array
    {
        $context = stream_context_create(['socket' => ['backlog' => 0]]);
        $server = stream_socket_server('tcp://127.0.0.1:0', $errno, $errstr, \STREAM_SERVER_BIND | \STREAM_SERVER_LISTEN, $context);
        self::assertIsResource($server, $errstr);
        $address = stream_socket_get_name($server, false);
        $fillers = [];
        for ($i = 0; $i < 4; ++$i) {
            $filler = @stream_socket_client("tcp://$address", $errno, $errstr, 1, \STREAM_CLIENT_CONNECT | \STREAM_CLIENT_ASYNC_CONNECT);
            if (\is_resource($filler)) {
                $fillers[] = $filler;
            }
        }
        usleep(100_000); // the fillers' handshakes done (or their SYNs dropped)

        return [$server, $fillers, "http://$address/publish"];
    }

    /** Connections waiting on a listener: one per request the client made to it. */
    private static function accepted($server): int
    {
        $count = 0;
        while (@stream_socket_accept($server, 0) !== false) {
            ++$count;
        }

        return $count;
    }

    /** Seconds since $start (hrtime). */
    private static function since(int $start): float
    {
        return (hrtime(true) - $start) / 1e9;
    }

    /**
     * The time bound is the client's contract (1 s, as Oro's own client): curl's own timer ends
     * the request at 1.0 s, and the PHP process needs only milliseconds of CPU besides. 0.5 s on
     * top covers a busy 2-core CI machine (a descheduled process, a slow fork next door) and still
     * fails a client that makes a second full attempt (2 s) or ignores the bound.
     */
    private const BOUND = 1.5;

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
        $start = hrtime(true);
        $result = $this->client($url, ['timeout' => 0.6])->publish('oro/data/update', self::tags(self::tag('silent')));
        $elapsed = self::since($start);
        fclose($server);
        self::assertFalse($result);
        self::assertGreaterThanOrEqual(0.55, $elapsed);
        self::assertLessThan(0.6 + 0.5, $elapsed, 'bounded by the timeout option (0.6 s), with room for a busy machine');
        self::assertCount(1, $this->logger->records);
        self::assertStringContainsString('may have delivered it', $this->logger->records[0]['message']);
    }

    public function testSilentGatewayWithTheDefaultsIsFalseWithinOneSecond(): void
    {
        [$server, $url] = self::listener();
        $start = hrtime(true);
        $result = $this->client($url)->publish('oro/data/update', self::tags(self::tag('silent_default')));
        $elapsed = self::since($start);
        self::assertFalse($result);
        self::assertGreaterThanOrEqual(0.95, $elapsed, 'it waited for the answer');
        self::assertLessThan(self::BOUND, $elapsed, 'the default bound: 1 s (see BOUND for the margin)');
        self::assertSame(1, self::accepted($server), 'one attempt: it took the whole second, no retry past the bound');
        fclose($server);
        self::assertCount(1, $this->logger->records, 'one log line');
        self::assertStringContainsString('after 1 attempt(s)', $this->logger->records[0]['message']);
        self::assertStringContainsString('may have delivered it', $this->logger->records[0]['message']);
    }

    public function testSilentGatewayReadinessIsBoundedAndAskedOnce(): void
    {
        // As Oro's ConnectionChecker asks: connect(), then isConnected(). A TTL shorter than the
        // time the question took must still cover the second question.
        [$server, $url] = self::listener();
        $client = $this->client($url, ['readiness_ttl' => 0.5]);
        $start = hrtime(true);
        self::assertNull($client->connect());
        self::assertFalse($client->isConnected());
        $elapsed = self::since($start);
        self::assertLessThan(self::BOUND, $elapsed, 'readiness within the same 1 s bound');
        self::assertSame(1, self::accepted($server), 'one GET /readyz for both questions');
        fclose($server);
        self::assertCount(1, $this->logger->records, 'one warning');
        self::assertSame('warning', $this->logger->records[0]['level']);
    }

    public function testConnectTimeoutWithTheDefaultsIsFalseWithinOneSecond(): void
    {
        [$server, $fillers, $url] = self::fullListener();
        $start = hrtime(true);
        $result = $this->client($url)->publish('oro/data/update', self::tags(self::tag('connect_timeout')));
        $elapsed = self::since($start);
        array_map('fclose', $fillers);
        fclose($server);
        self::assertFalse($result);
        self::assertLessThan(self::BOUND, $elapsed, 'connect_timeout (0.5 s) per attempt, all attempts within 1 s');
        self::assertCount(1, $this->logger->records, 'one log line');
        $message = $this->logger->records[0]['message'];
        self::assertStringContainsString('Connection timed out', $message, 'the connect timed out, not the answer');
        self::assertStringContainsString('after 2 attempt(s)', $message, 'a connect timeout is retried while time is left');
        self::assertStringContainsString('(not delivered)', $message, 'no connection, so the gateway cannot have taken it');
    }

    public function testRetriedAfter503WithTheSameIdempotencyKey(): void
    {
        // The proxy answers the first POST 503 without passing it on: the tap test checks it saw
        // two POSTs with the same Idempotency-Key and the subscribers got the event once.
        self::assertTrue($this->client(self::env('GATEWAY_UNAVAILABLE_URL'))->publish('oro/data/update', self::tags(self::tag('retried_503'))));
        self::assertSame([], $this->logger->records);
    }

    public function testKeepAliveConnectionClosedBetweenPublishesIsRetried(): void
    {
        // A long-running process (a message-queue consumer) publishes on one keep-alive
        // connection; the gateway restarts (or closes the idle connection) between two publishes,
        // after taking the request but before answering it (curl: 52 empty reply, or 55/56). The
        // publish is sent again on a new connection with the same Idempotency-Key: true, no log
        // line, delivered once (the tap test checks the proxy and the subscribers).
        CurlTransport::close(); // no connection from earlier tests: this one opens its own
        $opened = CurlTransport::connectionsOpened();
        $client = $this->client(self::env('GATEWAY_DROP_URL'));
        self::assertTrue($client->publish('oro/data/update', self::tags(self::tag('dropped_0'))));
        self::assertSame($opened + 1, CurlTransport::connectionsOpened(), 'close() closed the earlier connection');
        self::assertTrue($client->publish('oro/data/update', self::tags(self::tag('dropped_1'))));
        self::assertTrue($client->publish('oro/data/update', self::tags(self::tag('dropped_2'))));
        self::assertSame([], $this->logger->records);
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
