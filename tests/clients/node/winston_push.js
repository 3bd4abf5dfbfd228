// Pushes three log lines to Fenrir with winston-loki, the way applications use it.
//
// usage: node winston_push.js <base-url> <proto|json> <run-id>
// Exits non-zero when a push failed or when protobuf was asked for but winston-loki fell
// back to JSON (it does so silently when the optional `snappy` binary is missing).
'use strict'

const winston = require('winston')
const LokiTransport = require('winston-loki')

async function main () {
  const [url, mode, run] = process.argv.slice(2)
  if (!url || !['proto', 'json'].includes(mode) || !run) {
    console.error('usage: node winston_push.js <base-url> <proto|json> <run-id>')
    process.exit(64)
  }
  const errors = []
  const transport = new LokiTransport({
    host: url,
    labels: { app: 'nodeclient', run },
    json: mode === 'json',
    interval: 0.2,
    gracefulShutdown: false,
    onConnectionError: (err) => errors.push(err)
  })
  const want = mode === 'json' ? 'application/json' : 'application/x-protobuf'
  if (transport.batcher.contentType !== want) {
    console.error(`winston-loki sends ${transport.batcher.contentType}, expected ${want}`)
    process.exit(2)
  }
  const logger = winston.createLogger({ level: 'debug', transports: [transport] })
  logger.info(`hello from winston ${mode}`)
  logger.warn('second line with "quotes" and unicode \u2713')
  logger.error('third line')
  await transport.flush()
  await transport.close()
  if (errors.length > 0) {
    console.error('push failed: ' + errors.map(String).join('; '))
    process.exit(1)
  }
  console.log(`sent 3 lines as ${want}`)
  process.exit(0)
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
