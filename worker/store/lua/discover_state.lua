-- KEYS: discover, shown, liked. Returns {round or false, liked (flat, with scores), shown}.
return {redis.call('HGET', KEYS[1], 'round'),
        redis.call('ZRANGE', KEYS[3], 0, -1, 'WITHSCORES'),
        redis.call('ZRANGE', KEYS[2], 0, -1, 'WITHSCORES')}
