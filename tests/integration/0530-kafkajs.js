// kafkajs 2.2.4 scenarios, run by 0530-kafkajs.py: node 0530-kafkajs.js HOST:PORT
// Prints "ok <scenario>" per passing scenario; exits 1 with the reason on the first failure.
'use strict'
const { Kafka, CompressionTypes, logLevel } = require('kafkajs')

const broker = process.argv[2]
const kafka = new Kafka({
  clientId: 'gregor-itest',
  brokers: [broker],
  logLevel: logLevel.WARN,
  retry: { retries: 8, initialRetryTime: 100 },
  connectionTimeout: 5000,
  requestTimeout: 20000,
})

const overall = setTimeout(() => { console.error('FAIL: overall timeout (240 s)'); process.exit(1) }, 240000)

function assert(cond, msg) { if (!cond) throw new Error(msg) }

async function waitFor(pred, ms, what) {
  const end = Date.now() + ms
  for (;;) {
    const v = await pred()
    if (v) return v
    if (Date.now() > end) throw new Error('timed out after ' + ms + ' ms waiting for ' + what)
    await new Promise(r => setTimeout(r, 50))
  }
}

async function admin() {
  const a = kafka.admin()
  await a.connect()
  try {
    const created = await a.createTopics({ topics: [{ topic: 'js-a', numPartitions: 3 }, { topic: 'js-del', numPartitions: 2 }, { topic: 'js-b', numPartitions: 4 }], waitForLeaders: true })
    assert(created === true, 'createTopics returned ' + created)
    const again = await a.createTopics({ topics: [{ topic: 'js-a', numPartitions: 3 }], waitForLeaders: true })
    assert(again === false, 'createTopics of an existing topic returned ' + again + ', want false')
    const list = await a.listTopics()
    for (const t of ['js-a', 'js-del', 'js-b']) assert(list.includes(t), 'listTopics lacks ' + t + ': ' + list)
    const md = await a.fetchTopicMetadata({ topics: ['js-a'] })
    assert(md.topics.length === 1 && md.topics[0].name === 'js-a', 'fetchTopicMetadata: ' + JSON.stringify(md))
    const parts = md.topics[0].partitions
    assert(parts.length === 3, 'js-a has ' + parts.length + ' partitions')
    for (const p of parts) {
      assert(p.leader === 0 && p.partitionErrorCode === 0 && p.replicas.join() === '0' && p.isr.join() === '0',
        'partition metadata ' + JSON.stringify(p))
    }
    await a.deleteTopics({ topics: ['js-del'], timeout: 20000 })
    await waitFor(async () => !(await a.listTopics()).includes('js-del'), 30000, 'js-del to leave listTopics')
  } finally {
    await a.disconnect()
  }
}

async function gzipProduceAndGroupConsume() {
  const p = kafka.producer()
  await p.connect()
  const sent = []
  try {
    for (let batch = 0; batch < 5; batch++) {
      const messages = []
      for (let i = 0; i < 20; i++) {
        const n = batch * 20 + i
        messages.push({ key: 'k' + (n % 5), value: 'gz-' + n + '-' + 'x'.repeat(n % 17), partition: n % 3, headers: { n: String(n) } })
      }
      const res = await p.send({ topic: 'js-a', compression: CompressionTypes.GZIP, acks: -1, messages })
      assert(res.length >= 1 && res.every(r => r.errorCode === 0), 'send result ' + JSON.stringify(res))
      sent.push(...messages)
    }
  } finally {
    await p.disconnect()
  }
  console.log('ok gzip producer (100 records, keys, headers, explicit partitions)')

  const c = kafka.consumer({ groupId: 'js-g', sessionTimeout: 10000, heartbeatInterval: 1000 })
  await c.connect()
  const got = []
  try {
    await c.subscribe({ topics: ['js-a'], fromBeginning: true })
    await c.run({ eachMessage: async ({ partition, message }) => {
      got.push({ partition, offset: message.offset, key: message.key.toString(), value: message.value.toString(), n: message.headers.n.toString() })
    } })
    await waitFor(() => got.length >= sent.length, 60000, sent.length + ' messages in eachMessage (have ' + got.length + ')')
  } finally {
    await c.disconnect()
  }
  assert(got.length === sent.length, 'eachMessage saw ' + got.length + ' messages, want ' + sent.length)
  const byN = new Map(got.map(g => [Number(g.n), g]))
  for (let n = 0; n < sent.length; n++) {
    const g = byN.get(n); const s = sent[n]
    assert(g && g.value === s.value && g.key === s.key && g.partition === s.partition, 'message ' + n + ': ' + JSON.stringify(g))
  }
  for (let part = 0; part < 3; part++) {
    const offs = got.filter(g => g.partition === part).map(g => Number(g.offset))
    assert(offs.every((o, i) => o === i), 'partition ' + part + ' offsets ' + offs)
  }
  // committed: a new member of the group starts after them
  const a = kafka.admin()
  await a.connect()
  try {
    const offs = await a.fetchOffsets({ groupId: 'js-g', topics: ['js-a'] })
    const com = offs[0].partitions.map(p => [p.partition, Number(p.offset)]).sort((x, y) => x[0] - y[0])
    assert(JSON.stringify(com) === JSON.stringify([[0, 34], [1, 33], [2, 33]]), 'committed offsets ' + JSON.stringify(com))
  } finally {
    await a.disconnect()
  }
  console.log('ok group consumer eachMessage (every record once, committed offsets)')
}

async function twoConsumersSplit() {
  const members = []
  for (const name of ['c1', 'c2']) {
    const c = kafka.consumer({ groupId: 'js-split', sessionTimeout: 10000, heartbeatInterval: 500, rebalanceTimeout: 20000 })
    const m = { name, c, assigned: [], got: [], joins: 0, crashed: null }
    c.on(c.events.GROUP_JOIN, e => { m.joins++; m.assigned = (e.payload.memberAssignment['js-b'] || []).slice().sort() })
    c.on(c.events.CRASH, e => { m.crashed = e.payload.error })
    await c.connect()
    await c.subscribe({ topics: ['js-b'], fromBeginning: true })
    await c.run({ eachMessage: async ({ partition, message }) => { m.got.push([partition, message.value.toString()]) } })
    members.push(m)
  }
  try {
    await waitFor(() => {
      const [a, b] = members.map(m => m.assigned)
      return a.length && b.length && a.length + b.length === 4 && new Set([...a, ...b]).size === 4
    }, 60000, 'two consumers to split 4 partitions (' + members.map(m => m.name + ':' + m.assigned).join(' ') + ')')
    const p = kafka.producer()
    await p.connect()
    const messages = []
    for (let i = 0; i < 40; i++) messages.push({ value: 'split-' + i, partition: i % 4 })
    await p.send({ topic: 'js-b', messages })
    await p.disconnect()
    await waitFor(() => members[0].got.length + members[1].got.length >= 40, 60000, '40 messages split between the two')
    await new Promise(r => setTimeout(r, 500))
    const all = members.flatMap(m => m.got.map(g => g[1])).sort()
    assert(all.length === 40 && new Set(all).size === 40, 'split consumers saw ' + all.length + ' messages')
    // the split held: nobody rejoined with another assignment while the messages flowed
    const [a, b] = members.map(m => m.assigned)
    assert(a.length && b.length && a.length + b.length === 4 && new Set([...a, ...b]).size === 4,
      'assignments after consuming: ' + members.map(m => m.name + ':' + m.assigned + ' (' + m.joins + ' joins)').join(' '))
    for (const m of members) {
      assert(!m.crashed, m.name + ' crashed: ' + m.crashed)
      assert(m.got.length > 0, m.name + ' got nothing')
      for (const [part] of m.got) assert(m.assigned.includes(part), m.name + ' got a message of partition ' + part + ' it does not own')
    }
  } finally {
    for (const m of members) await m.c.disconnect()
  }
  console.log('ok two consumers in one group split partitions (' + members.map(m => m.name + ':' + m.assigned).join(' ') + ')')
}

async function main() {
  await admin()
  console.log('ok admin: createTopics, listTopics, fetchTopicMetadata, deleteTopics')
  await gzipProduceAndGroupConsume()
  await twoConsumersSplit()
  clearTimeout(overall)
}

main().then(() => process.exit(0), e => { console.error('FAIL: ' + (e && e.stack || e)); process.exit(1) })
