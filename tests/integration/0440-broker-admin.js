// kafkajs 2.2.4 admin scenarios, run by 0440-broker-admin.py: node 0440-broker-admin.js HOST:PORT
// Prints "ok <scenario>" per passing scenario; exits 1 with the reason on the first failure.
'use strict'
const { Kafka, ConfigResourceTypes, logLevel } = require('kafkajs')

const kafka = new Kafka({
  clientId: 'gregor-itest-admin',
  brokers: [process.argv[2]],
  logLevel: logLevel.NOTHING,
  retry: { retries: 5, initialRetryTime: 100 },
  requestTimeout: 20000,
})

const overall = setTimeout(() => { console.error('FAIL: overall timeout (120 s)'); process.exit(1) }, 120000)

function assert(cond, msg) { if (!cond) throw new Error(msg) }

async function main() {
  const a = kafka.admin()
  await a.connect()
  try {
    assert(await a.createTopics({
      topics: [{ topic: 'js-cfg', numPartitions: 2, configEntries: [{ name: 'retention.ms', value: '4242' }] }],
      waitForLeaders: true,
    }) === true, 'createTopics with configs')
    assert(await a.createTopics({ topics: [{ topic: 'js-vo', numPartitions: 1 }], validateOnly: true, waitForLeaders: false }) === true,
      'createTopics validateOnly')
    assert(!(await a.listTopics()).includes('js-vo'), 'validateOnly created the topic')
    let err = null
    try {
      await a.createTopics({ topics: [{ topic: 'js-bad', configEntries: [{ name: 'retention.ms', value: 'x' }] }] })
    } catch (e) { err = e }
    const inner = err && err.errors && err.errors[0]
    assert(inner && inner.type === 'INVALID_CONFIG', 'bad config: ' + err + ' ' + (inner && inner.type))
    console.log('ok createTopics')

    await a.createPartitions({ topicPartitions: [{ topic: 'js-cfg', count: 3 }] })
    const md = await a.fetchTopicMetadata({ topics: ['js-cfg'] })
    assert(md.topics[0].partitions.length === 3, 'partitions after createPartitions: ' + md.topics[0].partitions.length)
    err = null
    try { await a.createPartitions({ topicPartitions: [{ topic: 'js-cfg', count: 2 }] }) } catch (e) { err = e }
    assert(err && err.type === 'INVALID_PARTITIONS', 'decreasing partitions: ' + (err && err.type))
    console.log('ok createPartitions')

    let d = await a.describeConfigs({
      resources: [{ type: ConfigResourceTypes.TOPIC, name: 'js-cfg', configNames: ['retention.ms', 'cleanup.policy'] }],
      includeSynonyms: true,
    })
    let e = Object.fromEntries(d.resources[0].configEntries.map(c => [c.configName, c]))
    assert(e['retention.ms'].configValue === '4242', 'retention.ms ' + JSON.stringify(e['retention.ms']))
    assert(e['retention.ms'].configSynonyms[0].configSource === 1, 'retention.ms source ' +
      JSON.stringify(e['retention.ms'].configSynonyms))
    assert(e['cleanup.policy'].configValue === 'delete', 'cleanup.policy ' + JSON.stringify(e['cleanup.policy']))
    await a.alterConfigs({
      resources: [{ type: ConfigResourceTypes.TOPIC, name: 'js-cfg', configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }],
    })
    d = await a.describeConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: 'js-cfg' }], includeSynonyms: false })
    e = Object.fromEntries(d.resources[0].configEntries.map(c => [c.configName, c]))
    assert(e['cleanup.policy'].configValue === 'compact', 'after alterConfigs: ' + JSON.stringify(e['cleanup.policy']))
    assert(e['retention.ms'].configValue !== '4242', 'alterConfigs replaces the whole set')
    d = await a.describeConfigs({ resources: [{ type: ConfigResourceTypes.BROKER, name: '0', configNames: ['num.partitions'] }] })
    assert(d.resources[0].configEntries[0].configValue === '2', 'broker num.partitions ' +
      JSON.stringify(d.resources[0].configEntries))
    console.log('ok describeConfigs / alterConfigs')

    await a.deleteTopics({ topics: ['js-cfg'], timeout: 20000 })
    assert(!(await a.listTopics()).includes('js-cfg'), 'deleted topic still listed')
    console.log('ok deleteTopics')
  } finally {
    await a.disconnect()
  }
}

main().then(() => { clearTimeout(overall); process.exit(0) },
  e => { console.error('FAIL: ' + (e && e.stack ? e.stack : e)); process.exit(1) })
