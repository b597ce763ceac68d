<?php

declare(strict_types=1);

namespace OroWebsocketGateway\OroBundle\Tests;

use Psr\Log\LoggerInterface;
use Psr\Log\LoggerTrait;

/** Keeps every log line (level, message with its placeholders filled in, context). */
final class TestLogger implements LoggerInterface
{
    use LoggerTrait;

    /** @var list<array{level: string, message: string, context: array<mixed>}> */
    public array $records = [];

    public function log($level, $message, array $context = []): void
    {
        $replace = [];
        foreach ($context as $name => $value) {
            if (\is_scalar($value)) {
                $replace['{' . $name . '}'] = (string) $value;
            }
        }
        $this->records[] = ['level' => (string) $level, 'message' => strtr((string) $message, $replace), 'context' => $context];
    }

    /** @return list<array{level: string, message: string, context: array<mixed>}> */
    public function at(string ...$levels): array
    {
        return array_values(array_filter($this->records, static fn (array $r): bool => \in_array($r['level'], $levels, true)));
    }
}
