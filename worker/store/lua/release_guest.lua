-- KEYS: guest user. Gives a guest marked "merging" back (the account went away meanwhile).
if redis.call('HGET', KEYS[1], 'guest') ~= 'merging' then return 0 end
redis.call('HSET', KEYS[1], 'guest', '1')
return 1
