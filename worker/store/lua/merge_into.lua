-- KEYS: account user, ratings, rated, ratings version, recs. ARGV: the guest's genres (JSON),
-- then movie, stars, rated_at ms for every guest rating. For a movie rated in both the newer
-- rating wins (equal times keep the account's); the account keeps its genres unless it has
-- none. Returns {ratings taken, ratings version}, or {-2, 0} when the account is gone.
if redis.call('EXISTS', KEYS[1]) == 0 then return {-2, 0} end
local taken = 0
for i = 2, #ARGV, 3 do
  local movie, stars, at = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2])
  local mine = redis.call('ZSCORE', KEYS[3], movie)
  if (not mine) or at > tonumber(mine) then
    redis.call('HSET', KEYS[2], movie, stars)
    redis.call('ZADD', KEYS[3], at, movie)
    taken = taken + 1
  end
end
local v = tonumber(redis.call('GET', KEYS[4]) or '0')
if taken > 0 then
  v = redis.call('INCR', KEYS[4])
  redis.call('DEL', KEYS[5])
end
if (redis.call('HGET', KEYS[1], 'genres') or '[]') == '[]' and ARGV[1] ~= '[]' then
  redis.call('HSET', KEYS[1], 'genres', ARGV[1])
end
return {taken, v}
