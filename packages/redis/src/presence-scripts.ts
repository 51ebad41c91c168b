import { defineScript } from "./offsets.js";

/**
 * Presence of one topic lives in four keys sharing the topic's hash tag (keys.ts):
 * - `members`: hash client_id -> the member's JSON (`{clientId, user?, joinedAt}`);
 * - `holders`: hash "<node> <client_id>" -> 1, one field per node holding the member;
 * - `refs`: hash client_id -> how many nodes hold it;
 * - `seq`: the number of the latest change, carried by each pub/sub diff.
 * Each script changes them and publishes the change in one atomic step, so a node that
 * reads `members` with `seq` (SNAPSHOT) and then applies every diff numbered above it has
 * exactly the members (redis-presence.ts). A member joins when its first node holds it and
 * leaves when its last lets go, so a client moving from one node to another never leaves.
 * Diffs are `{"v":<seq>,"j":[member...],"l":[member...]}`, sent with the publish command
 * the last argument names: PUBLISH, or SPUBLISH on a cluster, where the diff channel shares
 * the topic's hash tag and so its slot (cluster/sharded-channels.ts).
 */

/** KEYS members, holders, refs, seq; ARGV node, client_id, member JSON, channel, publish command. */
const HOLD_LUA = `
if redis.call('HSETNX', KEYS[2], ARGV[1] .. ' ' .. ARGV[2], '1') == 0 then return 0 end
if redis.call('HINCRBY', KEYS[3], ARGV[2], 1) == 1 then
  redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
  local v = redis.call('INCR', KEYS[4])
  redis.call(ARGV[5], ARGV[4], '{"v":' .. v .. ',"j":[' .. ARGV[3] .. '],"l":[]}')
end
return 1
`;

/**
 * Shared by RELEASE and REAP: lets go of one holder field and returns the member's JSON
 * when that was its last holder (it left), else false. The channel and the publish command
 * are the last two arguments of both.
 */
const LET_GO = `
local function let_go(field, client)
  if redis.call('HDEL', KEYS[2], field) == 0 then return false end
  if redis.call('HINCRBY', KEYS[3], client, -1) > 0 then return false end
  redis.call('HDEL', KEYS[3], client)
  local member = redis.call('HGET', KEYS[1], client)
  redis.call('HDEL', KEYS[1], client)
  return member
end
local function publish_leaves(leaves)
  if #leaves == 0 then return end
  local v = redis.call('INCR', KEYS[4])
  redis.call(ARGV[#ARGV], ARGV[#ARGV - 1], '{"v":' .. v .. ',"j":[],"l":[' .. table.concat(leaves, ',') .. ']}')
end
`;

/** KEYS members, holders, refs, seq; ARGV node, client_id, channel, publish command. */
const RELEASE_LUA = `${LET_GO}
local member = let_go(ARGV[1] .. ' ' .. ARGV[2], ARGV[2])
if member then publish_leaves({member}) end
return member and 1 or 0
`;

/**
 * A dead node's members of one topic: lets go of every field it held, in one step and one
 * diff. Run by any surviving node, as often as it likes: a second run finds nothing.
 * KEYS members, holders, refs, seq; ARGV dead node, channel, publish command.
 */
const REAP_LUA = `${LET_GO}
local prefix = ARGV[1] .. ' '
local leaves = {}
for _, field in ipairs(redis.call('HKEYS', KEYS[2])) do
  if string.sub(field, 1, #prefix) == prefix then
    local member = let_go(field, string.sub(field, #prefix + 1))
    if member then leaves[#leaves + 1] = member end
  end
end
publish_leaves(leaves)
return #leaves
`;

/** KEYS members, seq: the members with the number of the latest change they include. */
const SNAPSHOT_LUA = `
return {tonumber(redis.call('GET', KEYS[2]) or '0'), redis.call('HVALS', KEYS[1])}
`;

export const presenceScripts = {
  hold: defineScript(HOLD_LUA),
  release: defineScript(RELEASE_LUA),
  reap: defineScript(REAP_LUA),
  snapshot: defineScript(SNAPSHOT_LUA),
} as const;
