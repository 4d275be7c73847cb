-- The SQLite shell reads this on stdin inside the unikernel, started as
-- sqlite3 /tmp/runikraft.db: a database file in the guest's /tmp, written
-- in transactions, reopened with .open. Its output must be file.out.
CREATE TABLE item(id INTEGER PRIMARY KEY, name TEXT NOT NULL, body BLOB);
BEGIN;
INSERT INTO item(name, body) SELECT 'item' || value, zeroblob(value * 10) FROM generate_series(1, 2000);
COMMIT;
CREATE INDEX item_name ON item(name);
BEGIN;
DELETE FROM item WHERE id % 2 = 0;
ROLLBACK;
.open /tmp/runikraft.db
.tables
SELECT count(*), sum(length(body)), max(name) FROM item;
DELETE FROM item WHERE id > 10;
VACUUM;
.open /tmp/runikraft.db
SELECT id, name, length(body) FROM item WHERE id BETWEEN 3 AND 5 ORDER BY id DESC;
PRAGMA integrity_check;
PRAGMA journal_mode;
PRAGMA page_count;
