-- dataflow migration 20260101120100_phone (up)
-- backend: sqlite (this SQL is for that backend only)
-- parents: 20260101120000_init

-- step 1: rename column authors: phone_number → phone
-- RISK MEDIUM: renames authors.phone_number to phone: no data changes, but old readers break
ALTER TABLE "authors" RENAME COLUMN "phone_number" TO "phone";

-- step 2: add column authors: active bool NOT NULL DEFAULT true
ALTER TABLE "authors" ADD COLUMN "active" BOOLEAN NOT NULL DEFAULT 1;

-- step 3: drop column authors: legacy text NULL
-- RISK HIGH: table authors has some rows; some non-null values in legacy would be lost
-- backup: keeps what this step destroys; down.sql restores it
CREATE TABLE "_dataflow_backup_20260101120100_2" AS SELECT "id", "legacy" FROM "authors";
ALTER TABLE "authors" DROP COLUMN "legacy";
