import { registerHttp } from '../src/functions-host/registry.js';
import { toLogger } from '../src/realtime/services.js';
import {
  handleScan,
  handleScanReport,
  handleScans,
  MAX_SCAN_REQUEST_BYTES,
  type ScansApiServices,
} from '../src/scans/scans-api.js';
import { openScansServices } from '../src/scans/scans-services.js';
import { silentLogger } from '../src/shared/logger.js';

let services: Promise<ScansApiServices> | undefined;

const loadServices = (): Promise<ScansApiServices> => {
  services ??= openScansServices(process.env, silentLogger).catch((error: unknown) => {
    services = undefined;
    throw error;
  });
  return services;
};

// Anonymous at the host level: App Service authentication signs callers in, and the handlers
// admit administrators only.
registerHttp({
  name: 'scans',
  methods: ['GET', 'POST'],
  route: 'scans',
  authLevel: 'anonymous',
  maxBodyBytes: MAX_SCAN_REQUEST_BYTES,
  handler: async (request, context) =>
    handleScans(request, context, async () => ({ ...(await loadServices()), logger: toLogger(context) })),
});

registerHttp({
  name: 'scan',
  methods: ['GET', 'DELETE'],
  route: 'scans/{id}',
  authLevel: 'anonymous',
  maxBodyBytes: 0,
  handler: (request, context) => handleScan(request, context, loadServices),
});

registerHttp({
  name: 'scan-report',
  methods: ['GET'],
  route: 'scans/{id}/report',
  authLevel: 'anonymous',
  maxBodyBytes: 0,
  handler: (request, context) => handleScanReport(request, context, loadServices),
});
