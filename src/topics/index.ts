// The topics API the gateway uses: rules, loading, routing, authorization, payload shapes.
export { POLICIES, type TopicPolicy, type TopicRule, type PlaceholderRequirement, type LoadedRule } from './rule.js'
export { defaultRules, CALLBACK_POLICIES } from './defaults.js'
export { loadTopicRules, type TopicLoadOptions, type LoadedTopics } from './load.js'
export { createTopicRouter, mergeRules, type TopicRouter, type TopicMatch, type RouterOptions } from './router.js'
export { authorizeSubscribe, authorizePublish, type SessionIdentity, type SubscribeDecision, type PublishDecision } from './authorize.js'
export { checkPayload, type PayloadProblem } from './payload-shapes.js'
