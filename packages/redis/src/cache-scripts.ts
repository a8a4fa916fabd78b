import { LuaScript } from './lua-script.js';

/**
 * Sets a cache entry (a hash: `v` = version, `d` = JSON) unless the stored one is newer or the
 * same. KEYS[1] = entry; ARGV = version, data, ttl in ms, mode (`fill` | `write`).
 *
 * - Absent entry: set, with the TTL.
 * - Stored version greater: kept (a fill or write never overwrites newer data). Equal version
 *   and equal data: kept. Equal version and other data can only be a corrupt entry: replaced.
 * - `fill` replacing an older or corrupt entry keeps its remaining TTL (a read never extends a
 *   TTL); `write` (after a committed change, e.g. a tombstone) sets the TTL afresh.
 * - An entry whose JSON does not end with its own `v` (as `encodeLiveKey` writes it) is corrupt
 *   and replaced like an older one; a value of another type under the name is deleted first.
 *
 * Returns 1 when the entry was written, 0 when it was kept.
 */
export const setEntryScript = new LuaScript(`
local kind = redis.call('TYPE', KEYS[1])['ok']
local version = tonumber(ARGV[1])
if kind == 'hash' then
  local stored = redis.call('HMGET', KEYS[1], 'v', 'd')
  local current = tonumber(stored[1])
  -- Only an entry whose JSON ends with its own version counts (anything else is corrupt).
  if current ~= nil and type(stored[2]) == 'string' then
    local suffix = ',"version":' .. stored[1] .. '}'
    if string.sub(stored[2], -#suffix) == suffix then
      if current > version then return 0 end
      if current == version and stored[2] == ARGV[2] then return 0 end
    end
  end
  local ttl = redis.call('PTTL', KEYS[1])
  redis.call('HSET', KEYS[1], 'v', ARGV[1], 'd', ARGV[2])
  if ARGV[4] == 'write' or ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
  return 1
end
if kind ~= 'none' then redis.call('DEL', KEYS[1]) end
redis.call('HSET', KEYS[1], 'v', ARGV[1], 'd', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
`);
