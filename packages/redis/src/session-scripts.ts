import { defineScript } from "./offsets.js";

/**
 * The session directory's scripts. A user's sessions are a sorted set (connection id ->
 * "recipient until", in Redis time) and a hash (connection id -> JSON record) under one
 * hash tag. The score of a live session is its last refresh + ttl + linger, of a closed
 * one its close + linger, so one comparison with the time answers both questions:
 * a recipient of direct messages while score > now, live while it is not closed and
 * score > now + linger. Redis's own clock serves every node, so their clocks may differ.
 *
 * KEYS: the sorted set, the hash.
 */

/** Time in ms, and removal of entries past their score. */
const PROLOGUE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
if #expired > 0 then
  redis.call('ZREM', KEYS[1], unpack(expired))
  redis.call('HDEL', KEYS[2], unpack(expired))
end
`;

/**
 * ARGV: ttlMs, lingerMs, then pairs of connection id and JSON record (JSON '' to keep the
 * stored one: a refresh). Records the sessions as live now.
 */
const TOUCH_LUA = `
${PROLOGUE}
local ttl = tonumber(ARGV[1])
local linger = tonumber(ARGV[2])
for i = 3, #ARGV, 2 do
  local id = ARGV[i]
  if ARGV[i + 1] ~= '' then
    redis.call('HSET', KEYS[2], id, ARGV[i + 1])
    redis.call('ZADD', KEYS[1], now + ttl + linger, id)
  elseif redis.call('HEXISTS', KEYS[2], id) == 1 then
    redis.call('ZADD', KEYS[1], 'XX', now + ttl + linger, id)
  end
end
redis.call('PEXPIRE', KEYS[1], ttl + linger)
redis.call('PEXPIRE', KEYS[2], ttl + linger)
return 0
`;

/** ARGV: lingerMs, connection id, JSON record marked closed. */
const CLOSE_LUA = `
${PROLOGUE}
local linger = tonumber(ARGV[1])
if redis.call('HEXISTS', KEYS[2], ARGV[2]) == 1 then
  redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
  redis.call('ZADD', KEYS[1], now + linger, ARGV[2])
end
return 0
`;

/**
 * ARGV: lingerMs, mode ('live' or 'all'). Returns the JSON records: live ones only, or
 * every recipient.
 */
const LIST_LUA = `
${PROLOGUE}
local linger = tonumber(ARGV[1])
local min = now
if ARGV[2] == 'live' then min = now + linger end
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. min, '+inf')
if #ids == 0 then return {} end
return redis.call('HMGET', KEYS[2], unpack(ids))
`;

/**
 * A client's last holder. KEYS: the client key. ARGV: connection id, JSON {user,
 * connection_id}, ms to keep it. Set by a new session, extended by its refreshes; a close
 * (JSON '') extends it only while this connection is still the holder, so a close that
 * comes after another user's connect does not give the client back.
 */
const HOLDER_LUA = `
local current = redis.call('GET', KEYS[1])
if ARGV[2] ~= '' then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
if current and cjson.decode(current).connection_id == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return 1
end
return 0
`;

export const sessionScripts = {
  touch: defineScript(TOUCH_LUA),
  close: defineScript(CLOSE_LUA),
  list: defineScript(LIST_LUA),
  holder: defineScript(HOLDER_LUA),
} as const;
