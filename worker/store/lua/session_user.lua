-- KEYS: session, user. ARGV: the user id the token names. The user hash (flat) when the session
-- exists and belongs to that user, else nil: one round trip.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return nil end
return redis.call('HGETALL', KEYS[2])
