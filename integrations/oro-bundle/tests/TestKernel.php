<?php

declare(strict_types=1);

namespace OroWebsocketGateway\OroBundle\Tests;

use Oro\Bundle\SyncBundle\OroSyncBundle;
use OroWebsocketGateway\OroBundle\OroWebsocketGatewayOroBundle;
use Symfony\Component\Config\Loader\LoaderInterface;
use Symfony\Component\DependencyInjection\ContainerBuilder;
use Symfony\Component\HttpKernel\Kernel;

/**
 * A Symfony kernel with OroSyncBundle's client services (the fixture) and this bundle, in Oro's
 * order (OroSyncBundle first) or the other way round. Public test.* aliases let the test look.
 */
final class TestKernel extends Kernel
{
    public function __construct(string $environment, private string $cacheDir, private bool $gatewayBundleFirst = false)
    {
        parent::__construct($environment, false);
    }

    public function registerBundles(): iterable
    {
        $bundles = [new OroSyncBundle(), new OroWebsocketGatewayOroBundle()];

        return $this->gatewayBundleFirst ? array_reverse($bundles) : $bundles;
    }

    public function registerContainerConfiguration(LoaderInterface $loader): void
    {
        $loader->load(static function (ContainerBuilder $container): void {
            $container->register('logger', TestLogger::class)->setPublic(true);
            $container->setAlias('test.websocket_client', 'oro_sync.websocket_client')->setPublic(true);
            $container->setAlias('test.connection_checker', 'oro_sync.client.connection_checker')->setPublic(true);
        });
    }

    public function getProjectDir(): string
    {
        return \dirname(__DIR__);
    }

    public function getCacheDir(): string
    {
        return $this->cacheDir . '/cache/' . $this->environment;
    }

    public function getLogDir(): string
    {
        return $this->cacheDir . '/log';
    }
}
