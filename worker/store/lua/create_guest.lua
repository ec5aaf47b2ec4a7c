-- KEYS: user, session, sessions index. ARGV: id, created_at, now ms, ttl seconds.
-- 1 created, 0 the id exists. (users and guests are updated after it: global keys.)
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'username', '', 'password_hash', '', 'created_at', ARGV[2],
           'genres', '[]', 'guest', '1', 'last_seen', ARGV[3])
redis.call('SET', KEYS[2], ARGV[1], 'EX', ARGV[4])
redis.call('ZADD', KEYS[3], tonumber(ARGV[3]) + tonumber(ARGV[4]) * 1000, KEYS[2])
redis.call('EXPIRE', KEYS[3], ARGV[4])
return 1
