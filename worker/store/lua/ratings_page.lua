-- KEYS: rated, ratings. ARGV: first, last (ranks, newest first).
-- Returns {total, {movie, stars, rated_at ms, ...}}.
local rows = redis.call('ZREVRANGE', KEYS[1], ARGV[1], ARGV[2], 'WITHSCORES')
local out = {}
for i = 1, #rows, 2 do
  local stars = redis.call('HGET', KEYS[2], rows[i])
  if stars then
    out[#out + 1] = rows[i]
    out[#out + 1] = stars
    out[#out + 1] = rows[i + 1]
  end
end
return {redis.call('ZCARD', KEYS[1]), out}
