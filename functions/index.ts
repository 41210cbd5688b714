// The Functions host loads this file (package.json "main"); each import registers its triggers.
import './ews-notifications.js';
import './ews-subscription-sync.js';
import './digests.js';
import './get-verdicts.js';
import './graph-lifecycle.js';
import './graph-notifications.js';
import './health.js';
import './mailboxes.js';
import './openapi.js';
import './quarantine.js';
import './rules.js';
import './scan-queue.js';
import './scans.js';
import './scheduled-scan.js';
import './status.js';
import './subscription-sync.js';
import './webui.js';

import { wireServices } from '../src/app/wiring.js';

// One Graph client and one scan queue for the endpoints, the timer and the consumer.
wireServices();
