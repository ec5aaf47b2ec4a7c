-- KEYS: ratings, rated, ratings version, recs. ARGV: movie.
-- Returns {rating count, new ratings version}, or nil when the movie was not rated.
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return nil end
redis.call('ZREM', KEYS[2], ARGV[1])
local v = redis.call('INCR', KEYS[3])
redis.call('DEL', KEYS[4])
return {redis.call('HLEN', KEYS[1]), v}
