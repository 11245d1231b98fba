CREATE TABLE parents (
    a INTEGER NOT NULL,
    b INTEGER NOT NULL,
    label TEXT,
    PRIMARY KEY (a, b)
);
CREATE TABLE children (
    id INTEGER PRIMARY KEY,
    a INTEGER,
    b INTEGER,
    FOREIGN KEY (a, b) REFERENCES parents (a, b)
);
