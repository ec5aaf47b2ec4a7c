-- KEYS: ratings version, recs. Drops the cached lists and bumps the ratings version (so no
-- process serves a list it holds in memory either). 1 when a list was cached, else 0.
if redis.call('EXISTS', KEYS[2]) == 0 then return 0 end
redis.call('INCR', KEYS[1])
redis.call('DEL', KEYS[2])
return 1
