import { createHash } from "node:crypto";
import type { Cluster, Redis } from "ioredis";

/**
 * Offsets are allocated inside Lua scripts: Redis runs a script atomically, so the
 * increment of `seq`, the XADD at `<offset>-0`, the trimming, the dedupe record and the
 * PUBLISH happen as one step and no two nodes can ever be handed the same offset.
 *
 * The epoch lives in the same hash as `seq`. When that hash is missing (a fresh topic, or
 * a Redis restarted without persistence) the script stores the caller's new random epoch
 * and drops any leftover stream, so offsets restart at 1 under an epoch nobody has seen.
 */

/**
 * Shared prologue: Redis time in ms, and the epoch (created when missing). Each script sets
 * `guard` first: with '1' the epoch is also bound to the master's replication id. A replica
 * promoted by a fail-over gets a new one and may lack appends the old master acknowledged
 * (replication is asynchronous), and would hand their offsets out again; so the first
 * script to run on it starts a new epoch, and clients are told history was lost instead of
 * being served different messages under offsets they already have.
 */
const PROLOGUE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local epoch = redis.call('HGET', KEYS[1], 'epoch')
local master = nil
if guard == '1' then
  master = string.match(redis.call('INFO', 'replication'), 'master_replid:(%w+)')
  if epoch and redis.call('HGET', KEYS[1], 'master') ~= master then epoch = nil end
end
if not epoch then
  epoch = ARGV[1]
  redis.call('DEL', KEYS[2], KEYS[3], KEYS[4])
  redis.call('HSET', KEYS[1], 'epoch', epoch, 'seq', 0)
  if master then redis.call('HSET', KEYS[1], 'master', master) end
end
`;

/**
 * Appends a batch of entries to one topic, in order, in one script call: one round trip
 * and one script run for every append a node has queued for the topic (see append-batcher.ts).
 *
 * KEYS: meta, stream, latest, latestOrder, then the dedupe keys of the entries that have one
 * ARGV: epochCandidate, maxMessages, maxAgeMs, dedupeWindowMs, channel, guard (0|1),
 * touch (0|1), count, maxConflatedKeys, publish command (PUBLISH, or SPUBLISH on a cluster:
 * the channel shares the keys' hash tag, so it is a shard channel of the slot written to),
 * then per entry: the index in KEYS of its dedupe key (0 for none), data, conflated (0|1),
 * its key, the value the latest-per-key table keeps ('' for the data itself)
 * Returns {results, online}: one {offset, epoch, ts, duplicate(0|1)} per entry, and with
 * `touch` the master's replicas that are online (-1 without).
 *
 * A dedupe record counts only in the epoch it was made in: after a new epoch the entry it
 * points at is gone, so the retried publish is appended again. With `touch` a duplicate
 * rewrites its record unchanged: a write, so the WAIT that follows covers the replication
 * of the first append even when another connection made it. The count of online replicas
 * lets the caller skip a WAIT that could only time out (a master promoted from the only
 * replica has none until another one syncs): WAIT blocks the connection it runs on.
 */
export const APPEND_LUA = `
local guard = ARGV[6]
${PROLOGUE}
local results = {}
local live = {}
local conflated = false
for i = 1, tonumber(ARGV[8]) do
  local base = 5 * i + 6
  local keyIndex = tonumber(ARGV[base])
  local data = ARGV[base + 1]
  local dedupe = keyIndex > 0 and KEYS[keyIndex] or nil
  local result = nil
  if dedupe then
    local seen = redis.call('GET', dedupe)
    if seen then
      local o, ts, e = string.match(seen, '^(%d+) (%d+) (.+)$')
      if e == epoch then
        if ARGV[7] == '1' then redis.call('SET', dedupe, seen, 'KEEPTTL') end
        result = {tonumber(o), e, tonumber(ts), 1}
      end
    end
  end
  if not result then
    local offset = redis.call('HINCRBY', KEYS[1], 'seq', 1)
    redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[2], offset .. '-0', 'ts', now, 'd', data)
    if dedupe then
      redis.call('SET', dedupe, offset .. ' ' .. now .. ' ' .. epoch, 'PX', ARGV[4])
    end
    live[#live + 1] = offset .. '\\n' .. epoch .. '\\n' .. now .. '\\n' .. data
    if ARGV[base + 2] == '1' then
      local value = ARGV[base + 4] ~= '' and ARGV[base + 4] or data
      redis.call('HSET', KEYS[3], ARGV[base + 3], offset .. '\\n' .. epoch .. '\\n' .. now .. '\\n' .. value)
      redis.call('ZADD', KEYS[4], offset, ARGV[base + 3])
      conflated = true
    end
    result = {offset, epoch, now, 0}
  end
  results[i] = result
end
-- One pub/sub message for the whole batch: each subscribed node gets one message to read
-- and decode instead of one per entry (codec.ts, decodeLive).
if #live > 0 then redis.call(ARGV[10], ARGV[5], table.concat(live, '\\n')) end
-- The latest-per-key table keeps its most recently updated keys (docs: maxConflatedKeys).
if conflated then
  local excess = redis.call('ZCARD', KEYS[4]) - tonumber(ARGV[9])
  if excess > 0 then
    local popped = redis.call('ZPOPMIN', KEYS[4], excess)
    for j = 1, #popped, 2 do redis.call('HDEL', KEYS[3], popped[j]) end
  end
end
local cutoff = now - tonumber(ARGV[3])
-- Age trimming: entries are in offset order and (nearly) in time order, so drop the
-- old prefix in batches; bounded, the newest entry is never older than the cutoff.
-- Usually the oldest entry is still fresh, and reading it alone settles that: converting
-- a batch of 100 entries to Lua tables on every append cost more than the rest together.
local oldest = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 1)[1]
local stale = oldest ~= nil and tonumber(oldest[2][2]) < cutoff
for _ = 1, (stale and 1000 or 0) do
  local batch = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 100)
  local keep = nil
  local last = nil
  for _, e in ipairs(batch) do
    if tonumber(e[2][2]) >= cutoff then
      keep = e[1]
      break
    end
    last = e[1]
  end
  if last == nil then break end
  local fresh = keep ~= nil
  if not fresh then
    keep = (tonumber(string.match(last, '^(%d+)')) + 1) .. '-0'
  end
  redis.call('XTRIM', KEYS[2], 'MINID', keep)
  if fresh or #batch < 100 then break end
end
local online = -1
if ARGV[7] == '1' then
  online = 0
  for _ in string.gmatch(redis.call('INFO', 'replication'), 'state=online') do
    online = online + 1
  end
end
return {results, online}
`;

/**
 * KEYS: meta, stream, latest, latestOrder
 * ARGV: epochCandidate, afterOffset, count (0 reads the head only), guard (0|1)
 * Returns {epoch, head, now, entries} where entries are XRANGE replies.
 */
export const READ_LUA = `
local guard = ARGV[4]
${PROLOGUE}
local head = tonumber(redis.call('HGET', KEYS[1], 'seq'))
local entries = {}
if tonumber(ARGV[3]) > 0 then
  entries = redis.call('XRANGE', KEYS[2], '(' .. ARGV[2] .. '-0', '+', 'COUNT', ARGV[3])
end
return {epoch, head, now, entries}
`;

/**
 * KEYS: meta, stream, latest, latestOrder
 * ARGV: epochCandidate, guard (0|1), afterOffset, limit (0 for every key)
 * Returns {epoch, head, values}: the latest-per-key values of the keys updated after
 * `afterOffset`, the most recently updated `limit` of them, each `<offset>\n<epoch>\n<ts>\n<data>`.
 */
export const LATEST_LUA = `
local guard = ARGV[2]
${PROLOGUE}
local head = tonumber(redis.call('HGET', KEYS[1], 'seq'))
local members
if tonumber(ARGV[4]) > 0 then
  members = redis.call('ZREVRANGEBYSCORE', KEYS[4], '+inf', '(' .. ARGV[3], 'LIMIT', 0, ARGV[4])
else
  members = redis.call('ZRANGEBYSCORE', KEYS[4], '(' .. ARGV[3], '+inf')
end
local values = {}
-- HMGET in slices: unpack has a stack limit of a few thousand values.
for first = 1, #members, 1000 do
  local slice = redis.call('HMGET', KEYS[3], unpack(members, first, math.min(first + 999, #members)))
  for _, value in ipairs(slice) do values[#values + 1] = value end
end
return {epoch, head, values}
`;

/**
 * KEYS: meta, stream, latest, latestOrder
 * ARGV: expectedEpoch, newEpoch
 * Starts a new epoch unless someone already did. Returns the epoch now in force.
 */
export const ROTATE_LUA = `
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if epoch ~= ARGV[1] then return epoch end
redis.call('DEL', KEYS[2], KEYS[3], KEYS[4])
redis.call('HSET', KEYS[1], 'epoch', ARGV[2], 'seq', 0)
return ARGV[2]
`;

/**
 * KEYS: lease
 * ARGV: token, ttlMs
 * Extends the lease only while this token still holds it. Returns 1 when renewed.
 */
export const RENEW_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
`;

/** KEYS: lease; ARGV: token. Deletes the lease only while this token holds it. */
export const RELEASE_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`;

export interface Script {
  run(
    redis: Redis | Cluster,
    keys: readonly string[],
    args: readonly (string | number)[],
  ): Promise<unknown>;
}

/**
 * Runs by EVALSHA and falls back to EVAL when Redis answers NOSCRIPT, which is what a
 * restarted Redis does: its script cache starts empty.
 */
export function defineScript(lua: string): Script {
  const sha = createHash("sha1").update(lua).digest("hex");
  return {
    async run(redis, keys, args) {
      try {
        return await redis.evalsha(sha, keys.length, ...keys, ...args);
      } catch (error) {
        if (error instanceof Error && error.message.startsWith("NOSCRIPT")) {
          return await redis.eval(lua, keys.length, ...keys, ...args);
        }
        throw error;
      }
    },
  };
}

export const scripts = {
  append: defineScript(APPEND_LUA),
  read: defineScript(READ_LUA),
  latest: defineScript(LATEST_LUA),
  rotate: defineScript(ROTATE_LUA),
  renew: defineScript(RENEW_LUA),
  release: defineScript(RELEASE_LUA),
} as const;
