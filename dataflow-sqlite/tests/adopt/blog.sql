CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    "userName" TEXT NOT NULL COLLATE NOCASE,
    bio TEXT
);
CREATE TABLE posts (
    id INTEGER PRIMARY KEY,
    author_id BIGINT REFERENCES users(id) ON DELETE SET NULL,
    title TEXT NOT NULL,
    body TEXT,
    published BOOLEAN NOT NULL DEFAULT 0,
    score DOUBLE NOT NULL DEFAULT -1.5
);
CREATE INDEX posts_author_published ON posts (author_id, published);
CREATE UNIQUE INDEX posts_title_live ON posts (title) WHERE published = 1;
