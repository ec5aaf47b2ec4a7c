-- KEYS: a movie list (sorted set by time). ARGV: first, last (ranks, newest first).
-- Returns {total, {movie, added ms, ...}}.
return {redis.call('ZCARD', KEYS[1]),
        redis.call('ZREVRANGE', KEYS[1], ARGV[1], ARGV[2], 'WITHSCORES')}
