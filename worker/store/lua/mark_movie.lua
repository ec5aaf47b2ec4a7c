-- Adds a movie to one of the user's movie lists (not-interested or watchlist) and takes it off
-- the other: wanting to watch a movie and not being interested in it exclude each other.
-- KEYS: the list (sorted set), the other list, the ratings version, recs (the cached lists).
-- ARGV: movie, now ms, cap, 1 if the list is part of the scoring profile (not-interested).
-- A change of the not-interested list (adding to it, or taking a movie off it) bumps the
-- version and drops the cached lists. Returns {1 added | 0 already there | -1 the list is
-- full, count, ratings version}. Already there keeps its first time (a repeated PUT changes
-- nothing).
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  return {0, redis.call('ZCARD', KEYS[1]), tonumber(redis.call('GET', KEYS[3]) or '0')}
end
local count = redis.call('ZCARD', KEYS[1])
if count >= tonumber(ARGV[3]) then
  return {-1, count, tonumber(redis.call('GET', KEYS[3]) or '0')}
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
local removed = redis.call('ZREM', KEYS[2], ARGV[1])
local version
if ARGV[4] == '1' or removed == 1 then
  version = redis.call('INCR', KEYS[3])
  redis.call('DEL', KEYS[4])
else
  version = tonumber(redis.call('GET', KEYS[3]) or '0')
end
return {1, count + 1, version}
