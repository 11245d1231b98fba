CREATE TABLE users (
    id bigserial PRIMARY KEY,
    "userName" text COLLATE "C" NOT NULL,
    bio text
);
CREATE TABLE posts (
    id bigserial PRIMARY KEY,
    author_id bigint REFERENCES users(id) ON DELETE SET NULL,
    title text NOT NULL,
    body text,
    published boolean NOT NULL DEFAULT false,
    score double precision NOT NULL DEFAULT -1.5,
    meta jsonb NOT NULL DEFAULT '{"tags": []}'
);
CREATE INDEX posts_author_published ON posts (author_id, published);
CREATE UNIQUE INDEX posts_title_live ON posts (title) WHERE published;
CREATE INDEX gin_posts_meta ON posts USING gin (meta);
CREATE INDEX posts_search ON posts USING gin (to_tsvector('english', (COALESCE(title, '') || ' ') || COALESCE(body, '')));
CREATE INDEX posts_meta_docs ON posts USING gin (meta);
