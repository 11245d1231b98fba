CREATE TABLE sessions (
    token uuid PRIMARY KEY,
    user_id bigint NOT NULL,
    created timestamp DEFAULT CURRENT_TIMESTAMP,
    payload json,
    data jsonb NOT NULL DEFAULT '{}'
);
