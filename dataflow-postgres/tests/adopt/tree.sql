CREATE TABLE categories (
    id serial PRIMARY KEY,
    parent_id integer REFERENCES categories(id) ON DELETE CASCADE ON UPDATE CASCADE,
    name text NOT NULL,
    CONSTRAINT categories_parent_name UNIQUE (parent_id, name)
);
