-- KEYS: one window counter. Takes one back (never below zero).
if tonumber(redis.call('GET', KEYS[1]) or '0') > 0 then redis.call('DECR', KEYS[1]) end
return 1
