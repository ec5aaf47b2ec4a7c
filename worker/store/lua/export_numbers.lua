-- KEYS: export ids hash, export counter (one hash tag). ARGV: user ids.
-- Returns each user's stable number, handing out the next one on first export.
local out = {}
for i, user in ipairs(ARGV) do
  local n = redis.call('HGET', KEYS[1], user)
  if not n then
    n = redis.call('INCR', KEYS[2])
    redis.call('HSET', KEYS[1], user, n)
  end
  out[i] = tonumber(n)
end
return out
