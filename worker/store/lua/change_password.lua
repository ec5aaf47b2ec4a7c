-- KEYS: user, sessions index, then the user's session keys. ARGV: expected hash, new hash,
-- session key to keep, now ms. Sets the new hash and revokes every other session.
-- Returns sessions revoked, -1 when the password changed meanwhile, -9 when the index holds
-- sessions not passed (read it again).
local passed = {}
for i = 3, #KEYS do passed[KEYS[i]] = true end
for _, s in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  if not passed[s] then return -9 end
end
if redis.call('HGET', KEYS[1], 'password_hash') ~= ARGV[1] then return -1 end
redis.call('HSET', KEYS[1], 'password_hash', ARGV[2])
local revoked = 0
for i = 3, #KEYS do
  if KEYS[i] ~= ARGV[3] then
    revoked = revoked + redis.call('DEL', KEYS[i])
    redis.call('ZREM', KEYS[2], KEYS[i])
  end
end
return revoked
