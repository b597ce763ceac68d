// The topics API the gateway uses: rules, loading, routing, authorization, payload shapes.
export { POLICIES, type TopicPolicy, type RulePolicy, type TopicRule, type PlaceholderRequirement, type LoadedRule } from './rule.js'
export { defaultRules, CALLBACK_POLICIES, CLASS_POLICIES, classPolicy } from './defaults.js'
export { loadTopicRules, APP_ROUTING_DIR, type TopicLoadOptions, type LoadedTopics, type TopicWarning } from './load.js'
export { readTopicServices, createCallbackResolver, TOPIC_TAG, type TopicServices, type TopicService } from './topic-services.js'
export { createTopicRouter, mergeRules, type TopicRouter, type TopicMatch, type RouterOptions } from './router.js'
export { authorizeSubscribe, authorizePublish, type SessionIdentity, type SubscribeDecision, type PublishDecision } from './authorize.js'
export { checkPayload, type PayloadProblem } from './payload-shapes.js'
