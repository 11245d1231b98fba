CREATE TABLE products (
    sku varchar(32) PRIMARY KEY,
    name text NOT NULL,
    price real NOT NULL DEFAULT 0.0,
    stock integer NOT NULL DEFAULT 0,
    image bytea,
    ref uuid,
    small smallint DEFAULT -3,
    tags text[],
    size char(2) COLLATE "C",
    CONSTRAINT stock_sane CHECK ((stock >= 0) AND (name <> '(none), x')),
    CHECK (price >= 0)
);
CREATE INDEX products_lower_name ON products (lower(name));
CREATE INDEX products_stock ON products (stock) WHERE stock > 0;
