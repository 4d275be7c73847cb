-- The SQLite shell built from Debian's sqlite3 source reads this on stdin
-- inside the unikernel, against an in-memory database; its output must
-- be memory.out byte for byte.
CREATE TABLE fruit(name TEXT PRIMARY KEY, qty INTEGER NOT NULL, price REAL);
INSERT INTO fruit VALUES ('apple', 3, 0.5), ('banana', 12, 0.25), ('cherry', 200, 0.05), ('durian', 1, 7.5);
SELECT name, qty, printf('%.2f', qty * price) AS total FROM fruit ORDER BY qty * price DESC, name;
SELECT count(*), sum(qty), group_concat(name, '+') FROM (SELECT name, qty FROM fruit ORDER BY name);
UPDATE fruit SET qty = qty + 1 WHERE price < 1;
DELETE FROM fruit WHERE name = 'durian';
.mode column
.headers on
SELECT name, qty FROM fruit ORDER BY name;
.mode list
.headers off
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 100) SELECT sum(x * x), max(x) FROM c;
SELECT json_object('a', 1, 'b', json_array(2, 3.5, 'x')), upper('sqlite'), length(zeroblob(1000)), typeof(1.0), 7 / 2, 7 % 3, round(2.5);
SELECT sqlite_version();
