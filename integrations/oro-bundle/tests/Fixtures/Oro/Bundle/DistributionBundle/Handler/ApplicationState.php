<?php

namespace Oro\Bundle\DistributionBundle\Handler;

/** Oro's installed-or-not flag; installed here. */
class ApplicationState
{
    public function isInstalled(): bool
    {
        return true;
    }
}
