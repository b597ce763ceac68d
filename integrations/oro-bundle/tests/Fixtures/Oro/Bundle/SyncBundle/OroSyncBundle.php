<?php

namespace Oro\Bundle\SyncBundle;

use Symfony\Component\HttpKernel\Bundle\Bundle;

/** Registers the client services as OroSyncBundle does (see DependencyInjection\OroSyncExtension). */
class OroSyncBundle extends Bundle
{
}
