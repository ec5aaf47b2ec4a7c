-- KEYS: ratings, ratings version. One consistent snapshot: {ratings (flat), version}.
return {redis.call('HGETALL', KEYS[1]), redis.call('GET', KEYS[2]) or '0'}
