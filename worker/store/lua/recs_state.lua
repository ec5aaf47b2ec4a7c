-- KEYS: ratings, ratings version, recs. ARGV: ratings version the caller holds, model version.
-- Returns {rating count, ratings version, cached list or false}; the list is not sent when the
-- caller already holds that ratings version. recs only ever holds lists of the current
-- ratings version (every change deletes it; save_recs checks the version).
local count = redis.call('HLEN', KEYS[1])
local version = redis.call('GET', KEYS[2]) or '0'
if version == ARGV[1] then return {count, version, false} end
return {count, version, redis.call('HGET', KEYS[3], ARGV[2])}
