-- KEYS: ratings version, recs. ARGV: expected ratings version, list JSON, ttl, model version.
-- 1 saved; 0 (nothing written) when the ratings changed meanwhile.
if (redis.call('GET', KEYS[1]) or '0') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[2], ARGV[4], ARGV[2])
redis.call('EXPIRE', KEYS[2], ARGV[3])
return 1
