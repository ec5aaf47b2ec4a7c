-- Adds a movie to one of the user's movie lists (not-interested or watchlist).
-- KEYS: the list (sorted set), then optionally the ratings version and recs (a list that is part
-- of the scoring profile: a change bumps the version and drops the cached lists).
-- ARGV: movie, now ms, cap. Returns {1 added | 0 already there | -1 the list is full, count,
-- ratings version or 0}. Already there keeps its first time (a repeated PUT changes nothing).
local version = 0
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  if KEYS[2] then version = tonumber(redis.call('GET', KEYS[2]) or '0') end
  return {0, redis.call('ZCARD', KEYS[1]), version}
end
local count = redis.call('ZCARD', KEYS[1])
if count >= tonumber(ARGV[3]) then return {-1, count, 0} end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
if KEYS[2] then
  version = redis.call('INCR', KEYS[2])
  redis.call('DEL', KEYS[3])
end
return {1, count + 1, version}
