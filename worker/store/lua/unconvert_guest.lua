-- KEYS: user. ARGV: username, signed_up_at, last_seen ms. Undoes convert_guest when the name
-- turned out to be taken (only that very conversion: same name and time).
if redis.call('HGET', KEYS[1], 'username') ~= ARGV[1] then return 0 end
if redis.call('HGET', KEYS[1], 'signed_up_at') ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], 'username', '', 'password_hash', '', 'guest', '1',
           'last_seen', ARGV[3])
redis.call('HDEL', KEYS[1], 'signed_up_at')
return 1
