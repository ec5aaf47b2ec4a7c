-- KEYS: ratings, rated, ratings version, recs. ARGV: movie, stars, rated_at ms.
-- Returns {rating count, new ratings version}; every cached list is dropped.
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
local v = redis.call('INCR', KEYS[3])
redis.call('DEL', KEYS[4])
return {redis.call('HLEN', KEYS[1]), v}
