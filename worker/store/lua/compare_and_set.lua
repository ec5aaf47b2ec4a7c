-- KEYS: one string key. ARGV: expected value, new value ('' deletes the key).
-- 1 when the key held the expected value (and was replaced), else 0.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == '' then redis.call('DEL', KEYS[1]) else redis.call('SET', KEYS[1], ARGV[2]) end
return 1
