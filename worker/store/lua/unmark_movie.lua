-- Removes a movie from one of the user's movie lists; KEYS as in mark_movie.lua. ARGV: movie.
-- Returns {1 removed | 0 was not there, count, ratings version or 0}.
local version = 0
local removed = redis.call('ZREM', KEYS[1], ARGV[1])
if KEYS[2] then
  if removed == 1 then
    version = redis.call('INCR', KEYS[2])
    redis.call('DEL', KEYS[3])
  else
    version = tonumber(redis.call('GET', KEYS[2]) or '0')
  end
end
return {removed, redis.call('ZCARD', KEYS[1]), version}
