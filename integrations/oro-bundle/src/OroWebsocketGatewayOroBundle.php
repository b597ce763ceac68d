<?php

declare(strict_types=1);

namespace OroWebsocketGateway\OroBundle;

use OroWebsocketGateway\OroBundle\DependencyInjection\Compiler\HttpWebsocketClientPass;
use Symfony\Component\DependencyInjection\Compiler\PassConfig;
use Symfony\Component\DependencyInjection\ContainerBuilder;
use Symfony\Component\HttpKernel\Bundle\Bundle;

/**
 * Oro's backend publishes to oro-websocket-gateway over HTTP: with ORO_WEBSOCKET_PUBLISH_DSN and
 * ORO_WEBSOCKET_PUBLISH_KEY set (when the client is made, not when the container is built),
 * oro_sync.websocket_client is the HTTP client (behind Oro's own decorators); without them it is
 * Oro's own client, as without this bundle.
 */
final class OroWebsocketGatewayOroBundle extends Bundle
{
    public function build(ContainerBuilder $container): void
    {
        parent::build($container);
        // Before MonologBundle's channel pass (priority 0) reads the monolog.logger tag, and after
        // every bundle's services are loaded, so the order of the bundles does not matter.
        $container->addCompilerPass(new HttpWebsocketClientPass(), PassConfig::TYPE_BEFORE_OPTIMIZATION, 100);
    }
}
