<?php

declare(strict_types=1);

// Composer's autoloader when the package's dev dependencies are installed; otherwise Debian's
// packages (php-symfony-*, php-psr-log) under /usr/share/php, as .ci/run installs them.
if (is_file(__DIR__ . '/../vendor/autoload.php')) {
    require __DIR__ . '/../vendor/autoload.php';
} else {
    foreach (['Psr/Log', 'Symfony/Component/DependencyInjection', 'Symfony/Component/Config', 'Symfony/Component/HttpKernel'] as $package) {
        $file = "/usr/share/php/$package/autoload.php";
        if (!is_file($file)) {
            fwrite(STDERR, "$file is missing; install it with: apt-get install php-psr-log php-symfony-dependency-injection php-symfony-config php-symfony-http-kernel\n");
            exit(2);
        }
        require_once $file;
    }
}

// The package, its tests, and the stand-ins for Oro's classes (tests/Fixtures/Oro).
spl_autoload_register(static function (string $class): void {
    $roots = [
        'OroWebsocketGateway\\OroBundle\\Tests\\' => __DIR__ . '/',
        'OroWebsocketGateway\\OroBundle\\' => __DIR__ . '/../src/',
        'Oro\\' => __DIR__ . '/Fixtures/Oro/',
    ];
    foreach ($roots as $prefix => $dir) {
        if (str_starts_with($class, $prefix)) {
            $file = $dir . str_replace('\\', '/', substr($class, \strlen($prefix))) . '.php';
            if (is_file($file)) {
                require $file;
            }

            return;
        }
    }
});
