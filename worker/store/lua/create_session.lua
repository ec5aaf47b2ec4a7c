-- KEYS: session, the user's sessions index (sorted set: session key -> expiry, Unix ms).
-- ARGV: user id, ttl seconds, now ms. Ended sessions leave the index; the index lives as long
-- as its longest session.
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
local ends = tonumber(ARGV[3]) + tonumber(ARGV[2]) * 1000
redis.call('ZADD', KEYS[2], ends, KEYS[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[3])
if redis.call('TTL', KEYS[2]) < tonumber(ARGV[2]) then redis.call('EXPIRE', KEYS[2], ARGV[2]) end
return 1
