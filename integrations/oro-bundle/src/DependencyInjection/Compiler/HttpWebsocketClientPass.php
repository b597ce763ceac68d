<?php

declare(strict_types=1);

namespace OroWebsocketGateway\OroBundle\DependencyInjection\Compiler;

use OroWebsocketGateway\OroBundle\Client\HttpWebsocketClient;
use Symfony\Component\DependencyInjection\Alias;
use Symfony\Component\DependencyInjection\Compiler\CompilerPassInterface;
use Symfony\Component\DependencyInjection\ContainerBuilder;
use Symfony\Component\DependencyInjection\ContainerInterface;
use Symfony\Component\DependencyInjection\Reference;

/**
 * Points Oro's oro_sync.websocket_client alias at the HTTP client when ORO_WEBSOCKET_PUBLISH_DSN
 * and ORO_WEBSOCKET_PUBLISH_KEY are set while the container is built. Oro's decorators
 * (oro_sync.client.logger_aware_decorator, ...) decorate the alias, so they wrap the HTTP client
 * just as they wrapped the WAMP one, and ConnectionChecker and every publisher use it unchanged.
 * The values themselves are read when the service is made (%env()%), so a new key needs no
 * cache rebuild; turning the switch on or off does (php bin/console cache:clear).
 */
final class HttpWebsocketClientPass implements CompilerPassInterface
{
    public const ALIAS = 'oro_sync.websocket_client';
    public const SERVICE = 'oro_websocket_gateway.http_websocket_client';
    public const DSN = 'ORO_WEBSOCKET_PUBLISH_DSN';
    public const KEY = 'ORO_WEBSOCKET_PUBLISH_KEY';

    public function process(ContainerBuilder $container): void
    {
        if (!self::isSet(self::DSN) || !self::isSet(self::KEY)) {
            return;
        }
        // Without OroSyncBundle there is nothing to replace.
        if (!$container->hasAlias(self::ALIAS) && !$container->hasDefinition(self::ALIAS)) {
            return;
        }
        $public = $container->hasAlias(self::ALIAS)
            ? $container->getAlias(self::ALIAS)->isPublic()
            : $container->getDefinition(self::ALIAS)->isPublic();

        // Should a variable be gone when the service is made, the client says so at each publish
        // instead of the container throwing in every request that publishes.
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
        if ($container->hasDefinition(self::ALIAS)) {
            $container->removeDefinition(self::ALIAS);
        }
        $container->setAlias(self::ALIAS, new Alias(self::SERVICE, $public));
    }

    /** Set and not empty where Symfony's Dotenv puts .env-app.local's values, or the real environment. */
    private static function isSet(string $name): bool
    {
        $value = $_SERVER[$name] ?? $_ENV[$name] ?? getenv($name);

        return \is_string($value) && trim($value) !== '';
    }
}
