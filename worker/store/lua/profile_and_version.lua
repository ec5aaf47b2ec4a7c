-- KEYS: ratings, ratings version, not-interested. One consistent snapshot:
-- {ratings (flat), version, not-interested movie ids}.
return {
  redis.call('HGETALL', KEYS[1]),
  redis.call('GET', KEYS[2]) or '0',
  redis.call('ZRANGE', KEYS[3], 0, -1),
}
