CREATE TABLE categories (
    id INTEGER PRIMARY KEY,
    parent_id BIGINT REFERENCES categories(id) ON DELETE CASCADE ON UPDATE CASCADE,
    name TEXT NOT NULL,
    UNIQUE (parent_id, name)
);
