CREATE TABLE events (ts TEXT, message TEXT);
CREATE TABLE settings (
    key TEXT PRIMARY KEY NOT NULL,
    value TEXT,
    updated DATE
);
