<?php

declare(strict_types=1);

namespace OroWebsocketGateway\OroBundle\DependencyInjection\Compiler;

use Oro\Bundle\SyncBundle\Client\WebsocketClientInterface;
use OroWebsocketGateway\OroBundle\Client\HttpWebsocketClient;
use OroWebsocketGateway\OroBundle\Client\WebsocketClientSelector;
use Symfony\Component\DependencyInjection\Alias;
use Symfony\Component\DependencyInjection\Argument\ServiceClosureArgument;
use Symfony\Component\DependencyInjection\Compiler\CompilerPassInterface;
use Symfony\Component\DependencyInjection\ContainerBuilder;
use Symfony\Component\DependencyInjection\ContainerInterface;
use Symfony\Component\DependencyInjection\Reference;

/**
 * Points Oro's oro_sync.websocket_client alias at a selector (WebsocketClientSelector) that, at
 * run time, gives Oro the HTTP client when ORO_WEBSOCKET_PUBLISH_DSN and ORO_WEBSOCKET_PUBLISH_KEY
 * are set and not empty, else Oro's own client (the alias's previous target). Nothing about the
 * variables is decided while the container is built, so a cache warmed without them (a Docker
 * image build, cache:warmup in CI) behaves the same as one warmed with them. Oro's decorators
 * (oro_sync.client.logger_aware_decorator, ...) decorate the alias, so they wrap whichever client
 * is chosen, and ConnectionChecker and every publisher use it unchanged. The alias stays as public
 * (or private) as Oro declared it.
 */
final class HttpWebsocketClientPass implements CompilerPassInterface
{
    public const ALIAS = 'oro_sync.websocket_client';
    /** The selector the alias points at. */
    public const SELECTOR = 'oro_websocket_gateway.websocket_client';
    public const SERVICE = 'oro_websocket_gateway.http_websocket_client';
    /** Oro's client, when oro_sync.websocket_client was a service of its own and not an alias. */
    public const ORIGINAL = 'oro_websocket_gateway.original_websocket_client';
    public const DSN = 'ORO_WEBSOCKET_PUBLISH_DSN';
    public const KEY = 'ORO_WEBSOCKET_PUBLISH_KEY';

    public function process(ContainerBuilder $container): void
    {
        // Without OroSyncBundle there is nothing to replace.
        if ($container->hasAlias(self::ALIAS)) {
            $alias = $container->getAlias(self::ALIAS);
            $public = $alias->isPublic();
            $original = (string) $alias;
            if ($original === self::SELECTOR) {
                return; // Already done (the pass ran twice).
            }
        } elseif ($container->hasDefinition(self::ALIAS)) {
            $definition = $container->getDefinition(self::ALIAS);
            $public = $definition->isPublic();
            $container->removeDefinition(self::ALIAS);
            $container->setDefinition(self::ORIGINAL, $definition->setPublic(false));
            $original = self::ORIGINAL;
        } else {
            return;
        }

        // Unset variables read as '' (the selector keeps Oro's client), never an exception in
        // every request that publishes.
        foreach ([self::DSN, self::KEY] as $name) {
            if (!$container->hasParameter("env($name)")) {
                $container->setParameter("env($name)", '');
            }
        }
        $container->register(self::SERVICE, HttpWebsocketClient::class)
            ->setFactory([HttpWebsocketClient::class, 'fromDsn'])
            ->setArguments(['%env(' . self::DSN . ')%', '%env(' . self::KEY . ')%'])
            ->addMethodCall('setLogger', [new Reference('logger', ContainerInterface::IGNORE_ON_INVALID_REFERENCE)])
            ->addTag('monolog.logger', ['channel' => 'oro_websocket'])
            ->setPublic(false);
        $container->register(self::SELECTOR, WebsocketClientInterface::class)
            ->setFactory([WebsocketClientSelector::class, 'select'])
            ->setArguments([
                '%env(' . self::DSN . ')%',
                '%env(' . self::KEY . ')%',
                new ServiceClosureArgument(new Reference(self::SERVICE)),
                new ServiceClosureArgument(new Reference($original)),
            ])
            ->setPublic(false);
        $container->setAlias(self::ALIAS, new Alias(self::SELECTOR, $public));
    }
}
