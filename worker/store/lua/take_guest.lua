-- KEYS: guest user, ratings, rated. First step of merging a guest into an account at log-in:
-- marks the guest "merging" (so a second tab cannot take it too) and returns
-- {ratings (flat), rated (flat, with times), genres}; nil when it is not a guest (any more).
if redis.call('HGET', KEYS[1], 'guest') ~= '1' then return nil end
redis.call('HSET', KEYS[1], 'guest', 'merging')
return {redis.call('HGETALL', KEYS[2]), redis.call('ZRANGE', KEYS[3], 0, -1, 'WITHSCORES'),
        redis.call('HGET', KEYS[1], 'genres') or '[]'}
