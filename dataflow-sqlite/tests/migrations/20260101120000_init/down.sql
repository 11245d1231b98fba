-- dataflow migration 20260101120000_init (down)
-- backend: sqlite (this SQL is for that backend only)
-- parents: none

-- step 2: create table books: columns id, author_id, title
DROP TABLE "books";

-- step 1: create table authors: columns id, email, phone_number, legacy
DROP TABLE "authors";
