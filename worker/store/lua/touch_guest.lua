-- KEYS: user, session, sessions index. ARGV: now ms, ttl seconds. Marks the guest used now and
-- renews its session. 1 done, 0 not a guest.
if redis.call('HGET', KEYS[1], 'guest') ~= '1' then return 0 end
redis.call('HSET', KEYS[1], 'last_seen', ARGV[1])
if redis.call('EXPIRE', KEYS[2], ARGV[2]) == 1 then
  redis.call('ZADD', KEYS[3], tonumber(ARGV[1]) + tonumber(ARGV[2]) * 1000, KEYS[2])
  redis.call('EXPIRE', KEYS[3], ARGV[2])
end
return 1
