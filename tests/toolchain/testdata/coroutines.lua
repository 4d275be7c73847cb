-- Run by the Lua built from Debian's lua5.4 source with runikraft-cc,
-- inside the unikernel (read from stdin: lua -). Deterministic output,
-- compared byte for byte with coroutines.out.

-- A generator: coroutine.wrap yields the squares 1..10.
local function squares(n)
  return coroutine.wrap(function()
    for i = 1, n do coroutine.yield(i * i) end
  end)
end
local sq = {}
for v in squares(10) do sq[#sq + 1] = v end
print(table.concat(sq, " "))

-- Values passed both ways through resume and yield.
local co = coroutine.create(function(a, b)
  local c = coroutine.yield(a + b)
  local d, e = coroutine.yield(c * 2)
  return d + e
end)
print(coroutine.resume(co, 1, 2))
print(coroutine.resume(co, 10))
print(coroutine.resume(co, 3, 4))
print(coroutine.status(co), coroutine.resume(co))

-- Producer and consumer passing control back and forth.
local producer = coroutine.create(function()
  for _, w in ipairs({"alpha", "beta", "gamma", "delta"}) do coroutine.yield(w) end
  return nil
end)
local got = {}
while true do
  local _, w = coroutine.resume(producer)
  if not w then break end
  got[#got + 1] = w:upper()
end
print(table.concat(got, ","), coroutine.status(producer))

-- An error inside a coroutine, caught by pcall around it.
local ok, err = pcall(coroutine.wrap(function() error({code = 42}) end))
print(ok, type(err), err.code)
print(coroutine.isyieldable(), select(2, coroutine.running()))

-- table.sort with a comparator, and string.format.
local people = {
  {name = "Ada", born = 1815}, {name = "Grace", born = 1906},
  {name = "Alan", born = 1912}, {name = "Barbara", born = 1939},
  {name = "Edsger", born = 1930}, {name = "Donald", born = 1938},
}
table.sort(people, function(x, y) return x.born > y.born end)
for i, p in ipairs(people) do
  print(string.format("%2d. %-8s|%5d|%9.3f|%x|%q", i, p.name, p.born, p.born / 7, p.born, p.name))
end
print(string.format("%g %g %.3e %d %s %s", 1 / 3, 2 ^ 53, 6.02214076e23, 7 // 2, math.type(7 // 2), math.type(7 / 2)))
print(string.format("%5.1f|%-5s|%05d|%+.2f|%c%c", math.pi, "ab", -42, 2.005, 76, 117))
print(string.format("%q", 1 / 0), string.format("%q", math.mininteger), string.format("%.14g", 0.1 + 0.2))

-- Sorting 1000 numbers from a fixed linear congruential generator.
local t, x = {}, 12345
for i = 1, 1000 do
  x = (x * 1103515245 + 12345) % 2147483648
  t[i] = x
end
table.sort(t)
local sorted = true
for i = 2, #t do if t[i - 1] > t[i] then sorted = false end end
print("sorted", #t, sorted, t[1], t[500], t[#t])
table.sort(t, function(a, b) return a % 1000 < b % 1000 or (a % 1000 == b % 1000 and a < b) end)
print("by last digits", t[1], t[2], t[1000])

-- Strings: patterns and gsub.
local s = "The quick brown fox jumps over the lazy dog"
local words = {}
for w in s:gmatch("%a+") do words[#words + 1] = w:lower() end
table.sort(words)
print(table.concat(words, " "), #words)
print((s:gsub("%w+", function(w) return #w end)))
print(string.rep("ab", 3, "-"), ("%d items"):format(3), utf8.char(72, 228, 8364), utf8.len("Hä€"))
