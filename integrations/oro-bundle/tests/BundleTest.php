<?php

declare(strict_types=1);

namespace OroWebsocketGateway\OroBundle\Tests;

use Oro\Bundle\SyncBundle\Client\ConnectionChecker;
use Oro\Bundle\SyncBundle\Client\LoggerAwareWebsocketClientDecorator;
use Oro\Bundle\SyncBundle\Client\WebsocketClient;
use OroWebsocketGateway\OroBundle\Client\HttpWebsocketClient;
use OroWebsocketGateway\OroBundle\DependencyInjection\Compiler\HttpWebsocketClientPass;
use Symfony\Component\DependencyInjection\ContainerInterface;
use Symfony\Component\HttpKernel\Kernel;

/**
 * A Symfony kernel with OroSyncBundle's client services (fixture, Oro's ids and decoration) and
 * this bundle: with the two settings, oro_sync.websocket_client is the HTTP client behind Oro's
 * logger decorator; without them, Oro's own client, untouched; decided at run time, so one
 * compiled container does both.
 */
final class BundleTest extends GatewayTestCase
{
    private string $dir;
    /** @var array<string, mixed> */
    private array $saved = [];

    protected function setUp(): void
    {
        $this->dir = sys_get_temp_dir() . '/oro-bundle-test-' . bin2hex(random_bytes(6));
        foreach ([HttpWebsocketClientPass::DSN, HttpWebsocketClientPass::KEY] as $name) {
            $this->saved[$name] = [$_SERVER[$name] ?? null, $_ENV[$name] ?? null];
        }
    }

    protected function tearDown(): void
    {
        foreach ($this->saved as $name => [$server, $env]) {
            self::setEnv($name, $server);
            if ($env === null) {
                unset($_ENV[$name]);
            } else {
                $_ENV[$name] = $env;
            }
        }
        exec('rm -rf ' . escapeshellarg($this->dir));
    }

    private static function setEnv(string $name, ?string $value): void
    {
        if ($value === null) {
            unset($_SERVER[$name], $_ENV[$name]);
            putenv($name);
        } else {
            $_SERVER[$name] = $value;
        }
    }

    private function boot(string $environment, bool $gatewayBundleFirst = false): Kernel
    {
        $kernel = new TestKernel($environment, $this->dir, $gatewayBundleFirst);
        $kernel->boot();

        return $kernel;
    }

    /** Oro's client as Oro's container gives it: the public alias, resolved (a private one would not be there). */
    private static function websocketClient(ContainerInterface $container): LoggerAwareWebsocketClientDecorator
    {
        self::assertTrue($container->has(HttpWebsocketClientPass::ALIAS), 'oro_sync.websocket_client stays a public service, as Oro declares it');
        $client = $container->get(HttpWebsocketClientPass::ALIAS);
        self::assertInstanceOf(LoggerAwareWebsocketClientDecorator::class, $client, 'Oro\'s decorator wraps it');

        return $client;
    }

    public function testWithTheSettingsOroDecoratorWrapsTheHttpClient(): void
    {
        self::setEnv(HttpWebsocketClientPass::DSN, self::env('GATEWAY_PUBLISH_URL'));
        self::setEnv(HttpWebsocketClientPass::KEY, self::env('GATEWAY_KEY'));
        $container = $this->boot('on')->getContainer();

        $client = self::websocketClient($container);
        self::assertInstanceOf(HttpWebsocketClient::class, $client->getDecoratedClient());
        self::assertSame($client, $container->get('test.websocket_client'), 'one client for the process');

        // Oro's ConnectionChecker asks the gateway's /readyz through it.
        $checker = $container->get('test.connection_checker');
        self::assertInstanceOf(ConnectionChecker::class, $checker);
        self::assertTrue($checker->checkConnection());

        self::assertTrue($client->publish('oro/data/update', self::tags(self::tag('container'))));
        $logger = $container->get('logger');
        self::assertContains('PUBLISH in oro/data/update websocket server', array_column($logger->records, 'message'), 'Oro\'s decorator logged it');
        self::assertSame([], $logger->at('error', 'warning'));

        // The HTTP client logs to the container's logger too.
        self::assertFalse($client->publish('gw/no/such/topic', 'x'));
        self::assertCount(1, $logger->at('error'));
    }

    public function testTheOrderOfTheBundlesDoesNotMatter(): void
    {
        self::setEnv(HttpWebsocketClientPass::DSN, self::env('GATEWAY_PUBLISH_URL'));
        self::setEnv(HttpWebsocketClientPass::KEY, self::env('GATEWAY_KEY'));
        $client = self::websocketClient($this->boot('reversed', true)->getContainer());
        self::assertInstanceOf(HttpWebsocketClient::class, $client->getDecoratedClient());
    }

    public function testWithoutTheSettingsNothingChanges(): void
    {
        self::setEnv(HttpWebsocketClientPass::DSN, null);
        self::setEnv(HttpWebsocketClientPass::KEY, self::env('GATEWAY_KEY'));
        $container = $this->boot('off')->getContainer();
        $client = self::websocketClient($container);
        self::assertInstanceOf(WebsocketClient::class, $client->getDecoratedClient(), 'Oro\'s own client, the alias\'s previous target');
        self::assertSame([], $client->getDecoratedClient()->calls);
        self::assertFalse($container->has(HttpWebsocketClientPass::SERVICE));
    }

    public function testAnEmptySettingCountsAsNotSet(): void
    {
        self::setEnv(HttpWebsocketClientPass::DSN, self::env('GATEWAY_PUBLISH_URL'));
        self::setEnv(HttpWebsocketClientPass::KEY, ' ');
        $client = self::websocketClient($this->boot('empty')->getContainer());
        self::assertInstanceOf(WebsocketClient::class, $client->getDecoratedClient());
    }

    /**
     * The switch is made when the client is first used, not when the container is built: one
     * container compiled without the settings (a cache warmed in a Docker image build) gives the
     * HTTP client once they are set, and Oro's client again once they are gone.
     */
    public function testOneCompiledContainerDecidesAtRunTime(): void
    {
        self::setEnv(HttpWebsocketClientPass::DSN, null);
        self::setEnv(HttpWebsocketClientPass::KEY, null);
        $kernel = $this->boot('warmed');
        self::assertInstanceOf(WebsocketClient::class, self::websocketClient($kernel->getContainer())->getDecoratedClient(), 'built and run without the settings: Oro\'s client');
        $compiled = self::compiledContainer($kernel);

        self::setEnv(HttpWebsocketClientPass::DSN, self::env('GATEWAY_PUBLISH_URL'));
        self::setEnv(HttpWebsocketClientPass::KEY, self::env('GATEWAY_KEY'));
        $kernel = $this->boot('warmed');
        self::assertSame($compiled, self::compiledContainer($kernel), 'the same compiled container, not rebuilt');
        $client = self::websocketClient($kernel->getContainer());
        self::assertInstanceOf(HttpWebsocketClient::class, $client->getDecoratedClient(), 'the same container with the settings: the HTTP client');
        self::assertTrue($client->publish('oro/data/update', self::tags(self::tag('runtime_switch'))));

        self::setEnv(HttpWebsocketClientPass::KEY, '');
        $kernel = $this->boot('warmed');
        self::assertSame($compiled, self::compiledContainer($kernel));
        self::assertInstanceOf(WebsocketClient::class, self::websocketClient($kernel->getContainer())->getDecoratedClient(), 'the key emptied: Oro\'s client again');
    }

    /** @return array<string, string> the compiled container's files and their contents' hashes */
    private static function compiledContainer(Kernel $kernel): array
    {
        $files = [];
        $dir = new \RecursiveIteratorIterator(new \RecursiveDirectoryIterator($kernel->getCacheDir(), \FilesystemIterator::SKIP_DOTS));
        foreach ($dir as $file) {
            $files[(string) $file] = md5_file((string) $file) . '@' . $file->getMTime();
        }
        ksort($files);
        self::assertNotSame([], $files);

        return $files;
    }
}
