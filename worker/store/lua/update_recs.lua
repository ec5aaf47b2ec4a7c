-- KEYS: ratings version, recs. ARGV: ratings version, list JSON, model version. Replaces a
-- cached list (e.g. with more of it explained) only while it is still cached for the same
-- ratings version; its expiry is unchanged.
if (redis.call('GET', KEYS[1]) or '0') ~= ARGV[1] then return 0 end
if redis.call('HEXISTS', KEYS[2], ARGV[3]) == 0 then return 0 end
redis.call('HSET', KEYS[2], ARGV[3], ARGV[2])
return 1
