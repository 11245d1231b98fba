CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    stamp INTEGER NOT NULL DEFAULT (strftime('%s','now')),
    day DATE NOT NULL DEFAULT CURRENT_DATE,
    token BLOB NOT NULL DEFAULT (randomblob(16)),
    label TEXT DEFAULT ('a' || 'b'),
    seen DATETIME DEFAULT (datetime('now', '+1 day'))
);
