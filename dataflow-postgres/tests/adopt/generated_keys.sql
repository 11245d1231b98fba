CREATE TABLE tokens (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    label text NOT NULL
);
CREATE TABLE lookups (
    id serial PRIMARY KEY,
    code text NOT NULL
);
CREATE INDEX lookups_code_hash ON lookups USING hash (code);
