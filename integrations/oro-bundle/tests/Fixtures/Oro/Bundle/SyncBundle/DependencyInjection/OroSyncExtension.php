<?php

namespace Oro\Bundle\SyncBundle\DependencyInjection;

use Oro\Bundle\DistributionBundle\Handler\ApplicationState;
use Oro\Bundle\SyncBundle\Client\ConnectionChecker;
use Oro\Bundle\SyncBundle\Client\LoggerAwareWebsocketClientDecorator;
use Oro\Bundle\SyncBundle\Client\WebsocketClient;
use Symfony\Component\DependencyInjection\ContainerBuilder;
use Symfony\Component\DependencyInjection\Extension\Extension;
use Symfony\Component\DependencyInjection\Reference;

/**
 * The service ids, alias and decoration of Oro's SyncBundle Resources/config/client.yml (Oro 5.1+):
 * oro_sync.websocket_client is a PUBLIC alias of the private oro_sync.websocket_client.basic, and
 * oro_sync.client.logger_aware_decorator decorates it with '@.inner'.
 */
class OroSyncExtension extends Extension
{
    public function load(array $configs, ContainerBuilder $container): void
    {
        $container->setAlias('oro_sync.websocket_client', 'oro_sync.websocket_client.basic')->setPublic(true);
        $container->register('oro_sync.websocket_client.basic', WebsocketClient::class)->setPublic(false);
        $container->register('oro_sync.client.logger_aware_decorator', LoggerAwareWebsocketClientDecorator::class)
            ->setDecoratedService('oro_sync.websocket_client')
            ->setArguments([new Reference('.inner')])
            ->addMethodCall('setLogger', [new Reference('logger')])
            ->addTag('monolog.logger', ['channel' => 'oro_websocket']);
        $container->register('oro_distribution.handler.application_state', ApplicationState::class);
        $container->register('oro_sync.client.connection_checker', ConnectionChecker::class)
            ->setArguments([new Reference('oro_sync.websocket_client'), new Reference('oro_distribution.handler.application_state')])
            ->addMethodCall('setLogger', [new Reference('logger')]);
    }
}
