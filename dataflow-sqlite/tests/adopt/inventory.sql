CREATE TABLE products (
    sku TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    price REAL NOT NULL DEFAULT 0.0,
    stock INT NOT NULL DEFAULT 0,
    weight FLOAT,
    image BLOB,
    ref UUID,
    small SMALLINT DEFAULT -3
);
CREATE INDEX products_lower_name ON products (lower(name));
CREATE INDEX products_stock ON products (stock);
