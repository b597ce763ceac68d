<?php

namespace Oro\Bundle\SyncBundle\DependencyInjection;

use Oro\Bundle\DistributionBundle\Handler\ApplicationState;
use Oro\Bundle\SyncBundle\Client\ConnectionChecker;
use Oro\Bundle\SyncBundle\Client\LoggerAwareWebsocketClientDecorator;
use Oro\Bundle\SyncBundle\Client\WebsocketClient;
use Symfony\Component\DependencyInjection\ContainerBuilder;
use Symfony\Component\DependencyInjection\Extension\Extension;
use Symfony\Component\DependencyInjection\Reference;

/** The service ids, alias and decoration of Oro's SyncBundle Resources/config/client.yml. */
class OroSyncExtension extends Extension
{
    public function load(array $configs, ContainerBuilder $container): void
    {
        $container->setAlias('oro_sync.websocket_client', 'oro_sync.websocket_client.basic');
        $container->register('oro_sync.websocket_client.basic', WebsocketClient::class)->setPublic(false);
        $container->register('oro_sync.client.logger_aware_decorator', LoggerAwareWebsocketClientDecorator::class)
            ->setDecoratedService('oro_sync.websocket_client')
            ->setArguments([new Reference('oro_sync.client.logger_aware_decorator.inner')])
            ->addMethodCall('setLogger', [new Reference('logger')])
            ->addTag('monolog.logger', ['channel' => 'oro_websocket']);
        $container->register('oro_distribution.handler.application_state', ApplicationState::class);
        $container->register('oro_sync.client.connection_checker', ConnectionChecker::class)
            ->setArguments([new Reference('oro_sync.websocket_client'), new Reference('oro_distribution.handler.application_state')])
            ->addMethodCall('setLogger', [new Reference('logger')]);
    }
}
