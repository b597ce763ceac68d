<?php

// One PHP process publishing to the gateway the way Oro's backend does, for bench/oro-bundle.mjs:
//   php bench/oro-publish.php wamp COUNT   Oro's raw-TCP WampClient path (oro-compat §3, §4): an
//                                          anonymous ticket (5,000 SHA-512 rounds), the
//                                          hand-written upgrade, the non-blocking read of 101 +
//                                          WELCOME, then masked PUBLISH frames, never read back
//   php bench/oro-publish.php http COUNT   the Oro bundle's HttpWebsocketClient (POST /publish)
// Env: BENCH_PORT, BENCH_SECRET (wamp), BENCH_KEY (http), BENCH_TAG. Prints one JSON line: the
// first publish of the process (from nothing: ticket, connection, handshake, or the client's
// classes, connection, request) and the later ones, each as wall and CPU (user + system) time.

declare(strict_types=1);

$mode = $argv[1] ?? '';
$count = (int) ($argv[2] ?? 1);
$port = (int) getenv('BENCH_PORT');
$tag = (string) getenv('BENCH_TAG');

function cpuMs(): float
{
    $u = getrusage();

    return ($u['ru_utime.tv_sec'] + $u['ru_stime.tv_sec']) * 1000 + ($u['ru_utime.tv_usec'] + $u['ru_stime.tv_usec']) / 1000;
}

function payload(string $tag, int $i): array
{
    return [['username' => null, 'tagname' => "{$tag}_$i"]];
}

/** Oro's anonymous ticket: TicketProvider + TicketDigestGenerator (sha512, base64, 5000 rounds). */
function ticket(string $secret): string
{
    $created = date('c');
    $nonce = bin2hex(random_bytes(8));
    $salted = $nonce . '|' . $created . '|' . $secret . '{' . $secret . '}';
    $digest = hash('sha512', $salted, true);
    for ($i = 1; $i < 5000; ++$i) {
        $digest = hash('sha512', $digest . $salted, true);
    }

    return base64_encode(base64_encode($digest) . ';;' . $nonce . ';' . $created);
}

function maskedFrame(string $text): string
{
    $length = \strlen($text);
    $header = "\x81" . ($length < 126 ? \chr(0x80 | $length) : ($length < 65536 ? \chr(0x80 | 126) . pack('n', $length) : \chr(0x80 | 127) . pack('J', $length)));
    $mask = random_bytes(4);
    $masked = $text ^ str_repeat($mask, intdiv($length, 4) + 1);

    return $header . $mask . substr($masked, 0, $length);
}

/** Oro's WampClient::connect: 1 s connect timeout, the upgrade, a non-blocking read until the first empty read after data. */
function wampConnect(int $port, string $secret)
{
    $socket = stream_socket_client("tcp://127.0.0.1:$port", $errno, $errstr, 1);
    if ($socket === false) {
        throw new RuntimeException("connect: $errstr");
    }
    stream_set_blocking($socket, false);
    $key = base64_encode(random_bytes(16));
    $ticket = rawurlencode(ticket($secret));
    fwrite($socket, "GET /?ticket=$ticket HTTP/1.1\r\nHost: 127.0.0.1:$port\r\nPragma: no-cache\r\nCache-Control: no-cache\r\n"
        . "Upgrade: WebSocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: $key\r\nSec-WebSocket-Protocol: wamp\r\n"
        . "Sec-WebSocket-Version: 13\r\nOrigin: 127.0.0.1\r\n\r\n");
    $response = '';
    $start = microtime(true);
    while (microtime(true) - $start < 1) {
        if (feof($socket)) {
            break;
        }
        $chunk = stream_get_contents($socket, 65536);
        if ($chunk === '' && $response !== '') {
            break;
        }
        $response .= $chunk;
    }
    if (!str_starts_with($response, 'HTTP/1.1 101')) {
        throw new RuntimeException('no 101: ' . strtok($response, "\r\n"));
    }
    $welcome = substr($response, strpos($response, '['), strpos($response, ']') - strpos($response, '[') + 1);
    if ((json_decode($welcome, true)[0] ?? null) !== 0) {
        throw new RuntimeException('no WELCOME');
    }

    return $socket;
}

$times = ['first' => null, 'rest' => ['wall' => 0.0, 'cpu' => 0.0]];
$measure = static function (callable $publish, int $i) use (&$times): void {
    $wall = hrtime(true);
    $cpu = cpuMs();
    $publish($i);
    $sample = ['wall' => (hrtime(true) - $wall) / 1e6, 'cpu' => cpuMs() - $cpu];
    if ($i === 0) {
        $times['first'] = $sample;
    } else {
        $times['rest']['wall'] += $sample['wall'];
        $times['rest']['cpu'] += $sample['cpu'];
    }
};

if ($mode === 'wamp') {
    $secret = (string) getenv('BENCH_SECRET');
    $socket = null;
    $publish = static function (int $i) use (&$socket, $port, $secret, $tag): void {
        // Oro's WebsocketClient: connect when not connected, json_encode, decode to arrays, one frame.
        $socket ??= wampConnect($port, $secret);
        $payload = json_decode(json_encode(payload($tag, $i)), true);
        fwrite($socket, maskedFrame(json_encode([7, 'oro/data/update', $payload, [], []])));
    };
} elseif ($mode === 'http') {
    $client = null;
    $publish = static function (int $i) use (&$client, $port, $tag): void {
        if ($client === null) {
            $dir = __DIR__ . '/../integrations/oro-bundle';
            require_once $dir . '/tests/Fixtures/Oro/Bundle/SyncBundle/Client/WebsocketClientInterface.php';
            require_once '/usr/share/php/Psr/Log/autoload.php';
            foreach (['HttpAnswer', 'CurieTable', 'CurlTransport', 'HttpWebsocketClient'] as $class) {
                require_once "$dir/src/Client/$class.php";
            }
            $client = new OroWebsocketGateway\OroBundle\Client\HttpWebsocketClient("http://127.0.0.1:$port/publish", (string) getenv('BENCH_KEY'));
        }
        if (!$client->publish('oro/data/update', payload($tag, $i))) {
            throw new RuntimeException("publish $i failed");
        }
    };
} else {
    fwrite(STDERR, "usage: php bench/oro-publish.php wamp|http COUNT\n");
    exit(2);
}

for ($i = 0; $i < $count; ++$i) {
    $measure($publish, $i);
}
echo json_encode(['mode' => $mode, 'count' => $count, 'first' => $times['first'], 'rest' => $times['rest']]), "\n";
