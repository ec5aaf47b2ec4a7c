-- KEYS: user. ARGV: expected hash, new hash. 1 replaced, 0 the hash changed meanwhile.
if redis.call('HGET', KEYS[1], 'password_hash') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'password_hash', ARGV[2])
return 1
