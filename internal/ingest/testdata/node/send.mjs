// Sends KIZUNA_EVENTS messages to a Kizuna server through the official
// Segment Node.js client, changed only in its host. Message ids are
// <KIZUNA_RUN>-<i> so the Go test can check each is stored exactly once.
import { Analytics } from '@segment/analytics-node'

const host = process.env.KIZUNA_HOST
const writeKey = process.env.KIZUNA_WRITE_KEY
const run = process.env.KIZUNA_RUN
const n = Number(process.env.KIZUNA_EVENTS || 10000)

const analytics = new Analytics({ writeKey, host, path: '/v1/batch', maxEventsInBatch: 200, flushInterval: 100 })
let failed = 0
analytics.on('error', (err) => { failed++; if (failed < 5) console.error('error', err && (err.reason || err.message || err)) })

for (let i = 0; i < n; i++) {
  const userId = `node-user-${i % 400}`
  const messageId = `${run}-${i}`
  if (i % 100 === 0) {
    analytics.identify({ userId, messageId, traits: { email: `${userId}@example.com`, lastName: '田中' } })
  } else {
    analytics.track({ userId, messageId, event: 'Item Viewed', properties: { run, i } })
  }
}
await analytics.closeAndFlush({ timeout: 120000 })
if (failed > 0) {
  console.error(`${failed} failures`)
  process.exit(1)
}
console.log(`sent ${n}`)
