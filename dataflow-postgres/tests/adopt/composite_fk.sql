CREATE TABLE parents (
    a integer NOT NULL,
    b integer NOT NULL,
    label text,
    PRIMARY KEY (a, b)
);
CREATE TABLE children (
    id serial PRIMARY KEY,
    a integer,
    b integer,
    FOREIGN KEY (a, b) REFERENCES parents (a, b)
);
