import { loadSettings } from '../src/config/settings.js';
import { registerHttp } from '../src/functions-host/registry.js';
import {
  handleRules,
  handleRulesTest,
  MAX_RULE_TEST_MESSAGE_BYTES,
  type RulesApiServices,
} from '../src/rules/rules-api.js';
import { handleRuleList, MAX_LIST_REQUEST_BYTES } from '../src/rules/rule-lists-api.js';
import { openRuleStore } from '../src/rules/rule-source.js';
import { MAX_RULE_SET_BYTES } from '../src/rules/rule-store.js';

let services: Promise<RulesApiServices> | undefined;

const loadServices = (): Promise<RulesApiServices> => {
  services ??= Promise.resolve().then(() => {
    const settings = loadSettings(process.env);
    return { settings, store: openRuleStore(settings) };
  });
  return services;
};

// Anonymous at the host level: App Service authentication signs callers in, and the handlers
// admit administrators only.
registerHttp({
  name: 'manage-rules',
  methods: ['GET', 'PUT'],
  route: 'rules',
  authLevel: 'anonymous',
  maxBodyBytes: MAX_RULE_SET_BYTES,
  handler: (request, context) => handleRules(request, context, loadServices),
});

registerHttp({
  name: 'test-rules',
  methods: ['POST'],
  route: 'rules/test',
  authLevel: 'anonymous',
  maxBodyBytes: MAX_RULE_TEST_MESSAGE_BYTES,
  handler: (request, context) => handleRulesTest(request, context, loadServices),
});

registerHttp({
  name: 'manage-rule-lists',
  methods: ['GET', 'PUT', 'DELETE'],
  route: 'rules/lists/{name}',
  authLevel: 'anonymous',
  maxBodyBytes: MAX_LIST_REQUEST_BYTES,
  handler: (request, context) => handleRuleList(request, context, loadServices),
});
