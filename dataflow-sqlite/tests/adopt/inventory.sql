CREATE TABLE products (
    sku TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    price REAL NOT NULL DEFAULT 0.0,
    stock INT NOT NULL DEFAULT 0,
    weight FLOAT,
    image BLOB,
    ref UUID,
    small SMALLINT DEFAULT -3,
    -- a named check over two columns, with nested parentheses and a literal
    -- holding a parenthesis and a comma
    CONSTRAINT stock_sane CHECK ((stock >= 0) AND (name <> '(none), x')),
    CHECK (price >= 0 /* never negative ) */)
);
CREATE INDEX products_lower_name ON products (lower(name));
CREATE INDEX products_stock ON products (stock);
