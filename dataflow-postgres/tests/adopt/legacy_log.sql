CREATE TABLE events (ts timestamptz, message text);
CREATE TABLE settings (
    key text PRIMARY KEY,
    value text,
    updated date
);
