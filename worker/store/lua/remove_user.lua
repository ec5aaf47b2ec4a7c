-- Deletes every key of one user, if the check passes. KEYS: the fixed keys of
-- worker.store.keys.user_keys (user hash first, sessions index second, query-list index
-- third, neighbour_of eighth), then the user's session keys, then its query-list keys.
-- ARGV: check, expected, number of session keys, number of query-list keys. Checks:
-- "password" (the stored hash, '' for guests, must equal expected), "unused_guest" (a guest or
-- a guest being merged, last used before expected ms; or a user hash already gone),
-- "merged" (a guest marked "merging").
-- Returns {1, username, users leaning on this one...} removed; {0} no such user; {-1} the
-- check failed; {-9} the session or query indexes hold keys not passed (read them again).
local n_sessions, n_queries = tonumber(ARGV[3]), tonumber(ARGV[4])
local passed = {}
for i = #KEYS - n_sessions - n_queries + 1, #KEYS do passed[KEYS[i]] = true end
for _, s in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  if not passed[s] then return {-9} end
end
for _, q in ipairs(redis.call('SMEMBERS', KEYS[3])) do
  if not passed[q] then return {-9} end
end
local exists = redis.call('EXISTS', KEYS[1]) == 1
local check = ARGV[1]
if check == 'password' then
  if not exists then return {0} end
  if (redis.call('HGET', KEYS[1], 'password_hash') or '') ~= ARGV[2] then return {-1} end
elseif check == 'unused_guest' then
  if exists then
    local kind = redis.call('HGET', KEYS[1], 'guest')
    if kind ~= '1' and kind ~= 'merging' then return {-1} end
    if tonumber(redis.call('HGET', KEYS[1], 'last_seen') or '0') >= tonumber(ARGV[2]) then
      return {-1}
    end
  end
elseif check == 'merged' then
  if redis.call('HGET', KEYS[1], 'guest') ~= 'merging' then return {-1} end
else
  return redis.error_reply('unknown check ' .. check)
end
local out = {1, redis.call('HGET', KEYS[1], 'username') or ''}
for _, other in ipairs(redis.call('SMEMBERS', KEYS[8])) do out[#out + 1] = other end
redis.call('DEL', unpack(KEYS))
return out
