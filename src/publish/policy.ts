// What the publish API asks of the topic rules: may this topic be published to, and does the
// data have the shape Oro's browser code expects on it.

export interface TopicRefusal {
  /** 404 for a topic no rule matches, 403 for one only the server publishes to. */
  status: 404 | 403
  message: string
}

export type { PayloadProblem } from '../topics/payload-shapes.js'
import type { PayloadProblem } from '../topics/payload-shapes.js'

export interface PublishTopicPolicy {
  route (topic: string): TopicRefusal | null
  shape (topic: string, data: unknown): PayloadProblem | null
}
