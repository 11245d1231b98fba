-- dataflow migration 20260101120000_init (up)
-- backend: sqlite (this SQL is for that backend only)
-- parents: none

-- step 1: create table authors: columns id, email, phone_number, legacy
CREATE TABLE "authors" ("id" INTEGER PRIMARY KEY AUTOINCREMENT, "email" VARCHAR(200) NOT NULL, "phone_number" TEXT, "legacy" TEXT);
CREATE UNIQUE INDEX "ux_authors_email" ON "authors" ("email");

-- step 2: create table books: columns id, author_id, title
CREATE TABLE "books" ("id" INTEGER PRIMARY KEY AUTOINCREMENT, "author_id" BIGINT NOT NULL, "title" TEXT NOT NULL, CONSTRAINT "fk_books_author_id" FOREIGN KEY ("author_id") REFERENCES "authors" ("id") ON DELETE CASCADE ON UPDATE NO ACTION);
CREATE INDEX "ix_books_author_id_title" ON "books" ("author_id", "title");
