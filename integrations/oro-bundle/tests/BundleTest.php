<?php

declare(strict_types=1);

namespace OroWebsocketGateway\OroBundle\Tests;

use Oro\Bundle\SyncBundle\Client\ConnectionChecker;
use Oro\Bundle\SyncBundle\Client\LoggerAwareWebsocketClientDecorator;
use Oro\Bundle\SyncBundle\Client\WebsocketClient;
use OroWebsocketGateway\OroBundle\Client\HttpWebsocketClient;
use OroWebsocketGateway\OroBundle\DependencyInjection\Compiler\HttpWebsocketClientPass;
use Symfony\Component\HttpKernel\Kernel;

/**
 * A Symfony kernel with OroSyncBundle's client services (fixture, Oro's ids and decoration) and
 * this bundle: with the two settings, oro_sync.websocket_client is the HTTP client behind Oro's
 * logger decorator; without them, Oro's own client, untouched.
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

    public function testWithTheSettingsOroDecoratorWrapsTheHttpClient(): void
    {
        self::setEnv(HttpWebsocketClientPass::DSN, self::env('GATEWAY_PUBLISH_URL'));
        self::setEnv(HttpWebsocketClientPass::KEY, self::env('GATEWAY_KEY'));
        $container = $this->boot('on')->getContainer();

        $client = $container->get('test.websocket_client');
        self::assertInstanceOf(LoggerAwareWebsocketClientDecorator::class, $client);
        self::assertInstanceOf(HttpWebsocketClient::class, $client->getDecoratedClient());

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
        $client = $this->boot('reversed', true)->getContainer()->get('test.websocket_client');
        self::assertInstanceOf(LoggerAwareWebsocketClientDecorator::class, $client);
        self::assertInstanceOf(HttpWebsocketClient::class, $client->getDecoratedClient());
    }

    public function testWithoutTheSettingsNothingChanges(): void
    {
        self::setEnv(HttpWebsocketClientPass::DSN, null);
        self::setEnv(HttpWebsocketClientPass::KEY, self::env('GATEWAY_KEY'));
        $container = $this->boot('off')->getContainer();
        $client = $container->get('test.websocket_client');
        self::assertInstanceOf(LoggerAwareWebsocketClientDecorator::class, $client);
        self::assertInstanceOf(WebsocketClient::class, $client->getDecoratedClient());
        self::assertFalse($container->has(HttpWebsocketClientPass::SERVICE));
        self::assertFalse($container->hasParameter('env(' . HttpWebsocketClientPass::DSN . ')'));
    }

    public function testAnEmptySettingCountsAsNotSet(): void
    {
        self::setEnv(HttpWebsocketClientPass::DSN, self::env('GATEWAY_PUBLISH_URL'));
        self::setEnv(HttpWebsocketClientPass::KEY, '');
        $client = $this->boot('empty')->getContainer()->get('test.websocket_client');
        self::assertInstanceOf(WebsocketClient::class, $client->getDecoratedClient());
    }
}
