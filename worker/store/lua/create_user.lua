-- A new account's user hash, pending: it expires unless the username claim that follows
-- succeeds (worker/store/users.py). KEYS: user. ARGV: username, password hash, created_at,
-- pending seconds. 1 created, 0 the id exists.
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'username', ARGV[1], 'password_hash', ARGV[2],
           'created_at', ARGV[3], 'genres', '[]')
redis.call('EXPIRE', KEYS[1], ARGV[4])
return 1
