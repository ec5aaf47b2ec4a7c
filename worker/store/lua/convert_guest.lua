-- KEYS: user, session, sessions index. ARGV: username, password hash, signed_up_at,
-- account session ttl, now ms. Gives a guest its name and password (the username claim
-- follows: worker/store/lifecycle.py). 1 converted, -1 no longer a guest. The session lives
-- on, no longer than an account's session.
if redis.call('HGET', KEYS[1], 'guest') ~= '1' then return -1 end
redis.call('HSET', KEYS[1], 'username', ARGV[1], 'password_hash', ARGV[2], 'guest', '0',
           'signed_up_at', ARGV[3])
redis.call('HDEL', KEYS[1], 'last_seen')
if redis.call('TTL', KEYS[2]) > tonumber(ARGV[4]) then
  redis.call('EXPIRE', KEYS[2], ARGV[4])
  redis.call('ZADD', KEYS[3], tonumber(ARGV[5]) + tonumber(ARGV[4]) * 1000, KEYS[2])
end
return 1
