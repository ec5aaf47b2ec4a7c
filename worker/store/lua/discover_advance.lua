-- KEYS: discover, shown, liked. ARGV: expected round, ttl, max shown, max liked, n liked,
-- liked ids..., new batch ids... Advances the round only if it is still the expected one
-- (returns the new round, or -1).
local round = tonumber(redis.call('HGET', KEYS[1], 'round') or '0')
if round ~= tonumber(ARGV[1]) then return -1 end
local n_liked = tonumber(ARGV[5])
for i = 6, 5 + n_liked do redis.call('ZADD', KEYS[3], round * 100 + i - 6, ARGV[i]) end
local new = round + 1
for i = 6 + n_liked, #ARGV do redis.call('ZADD', KEYS[2], new * 100 + i - 6 - n_liked, ARGV[i]) end
redis.call('HSET', KEYS[1], 'round', new)
local max_shown, max_liked = tonumber(ARGV[3]), tonumber(ARGV[4])
if redis.call('ZCARD', KEYS[2]) > max_shown then
  redis.call('ZREMRANGEBYRANK', KEYS[2], 0, redis.call('ZCARD', KEYS[2]) - max_shown - 1)
end
if redis.call('ZCARD', KEYS[3]) > max_liked then
  redis.call('ZREMRANGEBYRANK', KEYS[3], 0, redis.call('ZCARD', KEYS[3]) - max_liked - 1)
end
for i = 1, 3 do redis.call('EXPIRE', KEYS[i], ARGV[2]) end
return new
