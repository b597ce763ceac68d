<?php

declare(strict_types=1);

namespace OroWebsocketGateway\OroBundle\Client;

use Oro\Bundle\SyncBundle\Client\WebsocketClientInterface;
use Psr\Log\LoggerAwareInterface;
use Psr\Log\LoggerInterface;

/**
 * Oro's websocket client, over oro-websocket-gateway's HTTP API instead of a raw TCP WebSocket:
 * publish() and event() are one POST /publish each (bearer key, an Idempotency-Key per event),
 * true only when the gateway answered 202. 503, 504 and connection errors are retried with the
 * same Idempotency-Key (the gateway delivers an event once however often it is sent) within one
 * time bound (`timeout`, 1 s as Oro's own client); then false and one log line. No method throws:
 * a gateway that is down must never break the web request or consumer that publishes.
 * isConnected() and connect() ask GET /readyz, remembered for `readiness_ttl` seconds.
 */
final class HttpWebsocketClient implements WebsocketClientInterface, LoggerAwareInterface
{
    /** Options and their defaults (seconds for times). */
    public const DEFAULTS = [
        // Total time one publish may take, retries included (Oro's WAMP client waits up to 1 s).
        'timeout' => 1.0,
        'connect_timeout' => 0.5,
        // Retries after the first attempt, for 503, 504 and connection errors only.
        'retries' => 2,
        // Pause before the first retry, doubled before each further one.
        'retry_delay' => 0.05,
        // PEM file of the CA that signed the gateway's certificate (else the system's CAs).
        'ca_file' => null,
        // false accepts any certificate (a test setup only).
        'verify' => true,
        'readiness_ttl' => 2.0,
        // Default: the publish URL with its last path segment replaced by "readyz".
        'readyz_url' => null,
        'logger' => null,
        'user_agent' => 'oro-websocket-gateway-oro-bundle',
    ];

    /** The options a DSN's query string may set: https://host/publish?ca_file=/x.pem&timeout=0.5 */
    private const DSN_OPTIONS = ['timeout', 'connect_timeout', 'retries', 'retry_delay', 'ca_file', 'verify', 'readiness_ttl', 'readyz_url'];

    /** curl errors after which a retry can succeed: no connection, reset, timed out, no answer. */
    private const RETRIED_CURL_ERRORS = [
        6, // CURLE_COULDNT_RESOLVE_HOST
        7, // CURLE_COULDNT_CONNECT
        28, // CURLE_OPERATION_TIMEDOUT
        52, // CURLE_GOT_NOTHING
        55, // CURLE_SEND_ERROR
        56, // CURLE_RECV_ERROR
    ];

    private string $publishUrl;
    private string $readyzUrl;
    private string $key;
    private float $timeout;
    private int $retries;
    private float $retryDelay;
    private float $readinessTtl;
    /** @var array{ca_file: ?string, verify: bool, connect_timeout: float, user_agent: string} */
    private array $http;
    private ?LoggerInterface $logger;
    /** Why the client cannot publish at all (a bad URL, no key): said in every failure's log line. */
    private ?string $problem = null;
    private CurieTable $curies;
    private ?bool $ready = null;
    private int $readyUntil = 0;
    private string $sessionName;

    /**
     * @param string $publishUrl the gateway's POST /publish URL, e.g. https://ws.example.com/publish
     * @param string $key one of the gateway's ORO_WEBSOCKET_PUBLISH_KEYS
     * @param array<string, mixed> $options see DEFAULTS
     */
    public function __construct(string $publishUrl, string $key, array $options = [])
    {
        $unknown = array_diff(array_keys($options), array_keys(self::DEFAULTS));
        if ($unknown !== []) {
            throw new \InvalidArgumentException(sprintf('Unknown option(s) %s; known: %s', implode(', ', $unknown), implode(', ', array_keys(self::DEFAULTS))));
        }
        $options += self::DEFAULTS;
        $this->publishUrl = trim($publishUrl);
        $this->key = trim($key);
        $this->timeout = self::seconds($options['timeout'], 'timeout');
        if (!is_numeric($options['retries']) || (int) $options['retries'] < 0) {
            throw new \InvalidArgumentException(sprintf('Option retries must be a whole number of retries, got %s', var_export($options['retries'], true)));
        }
        $this->retries = (int) $options['retries'];
        $this->retryDelay = self::seconds($options['retry_delay'], 'retry_delay');
        $this->readinessTtl = self::seconds($options['readiness_ttl'], 'readiness_ttl');
        $caFile = $options['ca_file'] === null || $options['ca_file'] === '' ? null : (string) $options['ca_file'];
        $this->http = [
            'ca_file' => $caFile,
            'verify' => self::flag($options['verify']),
            'connect_timeout' => self::seconds($options['connect_timeout'], 'connect_timeout'),
            'user_agent' => (string) $options['user_agent'],
        ];
        $this->logger = $options['logger'] instanceof LoggerInterface ? $options['logger'] : null;
        $this->curies = new CurieTable();
        $this->sessionName = 'http-' . bin2hex(random_bytes(8));

        $parts = parse_url($this->publishUrl);
        if ($this->publishUrl === '' || $parts === false || !\in_array(strtolower($parts['scheme'] ?? ''), ['http', 'https'], true) || ($parts['host'] ?? '') === '') {
            $this->problem = sprintf('the publish URL "%s" is not an http:// or https:// URL (ORO_WEBSOCKET_PUBLISH_DSN, e.g. https://ws.example.com/publish)', $this->publishUrl);
        } elseif ($this->key === '') {
            $this->problem = 'the publish key is empty (ORO_WEBSOCKET_PUBLISH_KEY: one of the gateway\'s ORO_WEBSOCKET_PUBLISH_KEYS)';
        } elseif (preg_match('/[\x00-\x20\x7f]/', $this->key) === 1) {
            // It goes into a header line: a space or line break would make another header of it.
            $this->problem = 'the publish key contains spaces or control characters (ORO_WEBSOCKET_PUBLISH_KEY)';
        } elseif ($caFile !== null && !is_readable($caFile)) {
            $this->problem = sprintf('the CA file "%s" cannot be read (ca_file)', $caFile);
        }
        $this->readyzUrl = \is_string($options['readyz_url']) && $options['readyz_url'] !== ''
            ? $options['readyz_url']
            : self::readyzUrlOf($this->publishUrl, $parts === false ? [] : $parts);
    }

    /**
     * The client for ORO_WEBSOCKET_PUBLISH_DSN: the URL, with options in its query string
     * (ca_file, verify, timeout, connect_timeout, retries, retry_delay, readiness_ttl, readyz_url)
     * taken out of the URL that is POSTed to.
     */
    public static function fromDsn(string $dsn, string $key, ?LoggerInterface $logger = null): self
    {
        $dsn = trim($dsn);
        $options = [];
        $query = parse_url($dsn, \PHP_URL_QUERY);
        if (\is_string($query) && $query !== '') {
            parse_str($query, $params);
            $kept = [];
            foreach ($params as $name => $value) {
                if (\in_array($name, self::DSN_OPTIONS, true) && \is_string($value)) {
                    $options[$name] = $value;
                } else {
                    $kept[$name] = $value;
                }
            }
            $dsn = substr($dsn, 0, (int) strpos($dsn, '?')) . ($kept === [] ? '' : '?' . http_build_query($kept));
        }
        if ($logger !== null) {
            $options['logger'] = $logger;
        }
        try {
            return new self($dsn, $key, $options);
        } catch (\InvalidArgumentException $e) {
            // A bad setting must not break every service that publishes: each publish says why.
            $client = new self($dsn, $key, $logger === null ? [] : ['logger' => $logger]);
            $client->problem = 'ORO_WEBSOCKET_PUBLISH_DSN: ' . $e->getMessage();

            return $client;
        }
    }

    public function setLogger(LoggerInterface $logger): void
    {
        $this->logger = $logger;
    }

    /**
     * Asks the gateway whether it is ready; returns a name for this client when it is, null when
     * not (never throws, unlike Oro's WAMP client, whose exceptions Oro's callers catch anyway).
     */
    public function connect(string $target = '/'): ?string
    {
        return $this->isConnected() ? $this->sessionName : null;
    }

    /** Forgets the PREFIX table and the readiness answer, and closes the keep-alive connection. */
    public function disconnect(): bool
    {
        $this->curies->clear();
        $this->ready = null;
        $this->readyUntil = 0;
        CurlTransport::close();

        return true;
    }

    /** GET /readyz answered 200 (remembered for readiness_ttl seconds). */
    public function isConnected(): bool
    {
        if ($this->problem !== null) {
            if ($this->ready !== false) {
                $this->log('warning', 'The WebSocket gateway cannot be used: {reason}', ['reason' => $this->problem]);
            }
            $this->ready = false;

            return false;
        }
        $now = hrtime(true);
        if ($this->ready !== null && $now < $this->readyUntil) {
            return $this->ready;
        }
        try {
            $answer = CurlTransport::request('GET', $this->readyzUrl, null, ['Accept: application/json'], $this->http, $this->timeout);
        } catch (\Throwable $e) {
            $answer = new HttpAnswer(0, '', $e->getMessage(), -1);
        }
        $ready = $answer->status === 200;
        // One line when readiness changes, not one per question. The answer lives in this object:
        // a message-queue consumer keeps it for its whole life, but under PHP-FPM every request
        // makes a new client, so a gateway that is down logs one warning per request that asks
        // (each page Oro's ConnectionChecker renders).
        if ($ready !== $this->ready && !($ready && $this->ready === null)) {
            $ready
                ? $this->log('info', 'The WebSocket gateway is ready again ({url})', ['url' => $this->readyzUrl])
                : $this->log('warning', 'The WebSocket gateway is not ready ({url}: {reason})', ['url' => $this->readyzUrl, 'reason' => $answer->describe()]);
        }
        $this->ready = $ready;
        // Counted from the answer, not the question: a slow answer is still remembered for the TTL.
        $this->readyUntil = hrtime(true) + (int) ($this->readinessTtl * 1e9);

        return $ready;
    }

    /**
     * @param mixed $payload
     * @param array<int|string, string|int> $exclude session ids that must not receive it
     * @param array<int|string, string|int> $eligible when not empty, only these session ids receive it
     */
    public function publish(string $topicUri, $payload, array $exclude = [], array $eligible = []): bool
    {
        try {
            $topic = $this->curies->expand($topicUri);
            // What Oro's WAMP path does to a payload: json_encode, then json_decode to arrays (so
            // an empty object arrives as []), then encoded again inside the frame.
            $data = json_decode(json_encode($payload, \JSON_THROW_ON_ERROR), true, 512, \JSON_THROW_ON_ERROR);
            $publication = ['topic' => $topic, 'data' => $data];
            if ($exclude !== []) {
                $publication['exclude'] = array_values(array_map('strval', $exclude));
            }
            if ($eligible !== []) {
                $publication['eligible'] = array_values(array_map('strval', $eligible));
            }
            $body = json_encode($publication, \JSON_THROW_ON_ERROR | \JSON_UNESCAPED_SLASHES | \JSON_UNESCAPED_UNICODE);
        } catch (\JsonException $e) {
            $this->log('error', 'Not published to {topic}: the payload cannot be encoded as JSON ({reason})', ['topic' => $topicUri, 'reason' => $e->getMessage()]);

            return false;
        }

        return $this->post($topic, $body);
    }

    /**
     * Oro's server refused a WAMP EVENT from a client; here it is what the method promises:
     * subscribers of the topic receive the payload, exactly as with publish().
     *
     * @param mixed $payload
     */
    public function event(string $topicUri, $payload): bool
    {
        return $this->publish($topicUri, $payload);
    }

    /** Remembers a CURIE prefix for the topics of later publishes, as Oro's server did per connection. */
    public function prefix(string $prefix, string $uri): bool
    {
        $this->curies->declare($prefix, $uri);

        return true;
    }

    /**
     * Oro defines no RPC: its server answered every CALL by closing the connection. Nothing is
     * sent; false says the call was not made.
     *
     * @param array<mixed> $arguments
     */
    public function call(string $procUri, array $arguments = []): bool
    {
        $this->log('warning', 'CALL {procedure} not made: Oro defines no RPC on its WebSocket server (Oro\'s server closed the connection on any CALL)', ['procedure' => $procUri]);

        return false;
    }

    private function post(string $topic, string $body): bool
    {
        if ($this->problem !== null) {
            $this->log('error', 'Not published to {topic}: {reason}', ['topic' => $topic, 'reason' => $this->problem]);

            return false;
        }
        $idempotencyKey = bin2hex(random_bytes(16));
        $headers = [
            'Content-Type: application/json',
            'Authorization: Bearer ' . $this->key,
            'Idempotency-Key: ' . $idempotencyKey,
        ];
        $start = hrtime(true);
        $deadline = $start + (int) ($this->timeout * 1e9);
        $attempts = 0;
        // Whether an attempt may have reached the gateway without its answer reaching us.
        $unconfirmed = false;
        while (true) {
            ++$attempts;
            $left = ($deadline - hrtime(true)) / 1e9;
            try {
                $answer = CurlTransport::request('POST', $this->publishUrl, $body, $headers, $this->http, max(0.001, $left));
            } catch (\Throwable $e) {
                $answer = new HttpAnswer(0, '', $e->getMessage(), -1);
            }
            if ($answer->status === 202) {
                return true;
            }
            $unconfirmed = $unconfirmed || $answer->status === 504 || ($answer->status === 0 && $answer->sent && \in_array($answer->errno, [28, 52, 56], true));
            $retried = \in_array($answer->status, [503, 504], true) || ($answer->status === 0 && \in_array($answer->errno, self::RETRIED_CURL_ERRORS, true));
            $pause = $this->retryDelay * (2 ** ($attempts - 1));
            $left = ($deadline - hrtime(true)) / 1e9;
            // A retry needs time for its own request too, not only for the pause.
            if (!$retried || $attempts > $this->retries || $left <= $pause + 0.01) {
                break;
            }
            usleep((int) ($pause * 1e6));
        }
        $this->log('error', 'Not published to {topic} after {attempts} attempt(s) in {elapsed_ms} ms: {reason}{outcome}', [
            'topic' => $topic,
            'attempts' => $attempts,
            'elapsed_ms' => (int) round((hrtime(true) - $start) / 1e6),
            'reason' => $answer->describe(),
            'outcome' => self::outcome($answer, $unconfirmed),
            'url' => $this->publishUrl,
            'idempotency_key' => $idempotencyKey,
        ]);

        return false;
    }

    private static function outcome(HttpAnswer $answer, bool $unconfirmed): string
    {
        if ($unconfirmed) {
            return ' (the gateway may have delivered it: not confirmed)';
        }
        if ($answer->status === 0 && \in_array($answer->errno, [35, 51, 58, 60, 77, 83], true)) {
            return ' (TLS: set ca_file to the CA that signed the gateway\'s certificate)';
        }
        if ($answer->status === 401) {
            return ' (the key is not one of the gateway\'s ORO_WEBSOCKET_PUBLISH_KEYS)';
        }

        return ' (not delivered)';
    }

    /** @param array<string, mixed> $context */
    private function log(string $level, string $message, array $context): void
    {
        try {
            if ($this->logger !== null) {
                $this->logger->log($level, $message, $context);

                return;
            }
            // No logger: PHP's error log, so a failed publish is never silent.
            $replace = [];
            foreach ($context as $name => $value) {
                $replace['{' . $name . '}'] = \is_scalar($value) ? (string) $value : json_encode($value);
            }
            error_log(sprintf('oro-websocket-gateway %s: %s', $level, strtr($message, $replace)));
        } catch (\Throwable) {
            // A broken logger must not turn a failed publish into an exception.
        }
    }

    /** @param array<string, mixed> $parts */
    private static function readyzUrlOf(string $publishUrl, array $parts): string
    {
        if (!isset($parts['scheme'], $parts['host'])) {
            return $publishUrl;
        }
        $path = $parts['path'] ?? '/';
        $slash = strrpos($path, '/');
        $base = $slash === false ? '/' : substr($path, 0, $slash + 1);
        $port = isset($parts['port']) ? ':' . $parts['port'] : '';
        $host = str_contains($parts['host'], ':') && !str_starts_with($parts['host'], '[') ? '[' . $parts['host'] . ']' : $parts['host'];

        return sprintf('%s://%s%s%sreadyz', strtolower($parts['scheme']), $host, $port, $base);
    }

    private static function seconds(mixed $value, string $name): float
    {
        if (!is_numeric($value) || (float) $value < 0) {
            throw new \InvalidArgumentException(sprintf('Option %s must be a number of seconds, got %s', $name, var_export($value, true)));
        }

        return (float) $value;
    }

    private static function flag(mixed $value): bool
    {
        if (\is_string($value)) {
            return !\in_array(strtolower(trim($value)), ['0', 'false', 'no', 'off', ''], true);
        }

        return (bool) $value;
    }
}
