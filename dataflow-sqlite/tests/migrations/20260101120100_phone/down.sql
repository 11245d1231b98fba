-- dataflow migration 20260101120100_phone (down)
-- backend: sqlite (this SQL is for that backend only)
-- parents: 20260101120000_init

-- step 3: drop column authors: legacy text NULL
-- RISK HIGH: table authors has some rows; some non-null values in legacy would be lost
ALTER TABLE "authors" ADD COLUMN "legacy" TEXT;
UPDATE "authors" SET "legacy" = (SELECT "_dataflow_backup_20260101120100_2"."legacy" FROM "_dataflow_backup_20260101120100_2" WHERE "_dataflow_backup_20260101120100_2"."id" = "authors"."id") WHERE "id" IN (SELECT "id" FROM "_dataflow_backup_20260101120100_2");
DROP TABLE "_dataflow_backup_20260101120100_2";

-- step 2: add column authors: active bool NOT NULL DEFAULT true
ALTER TABLE "authors" DROP COLUMN "active";

-- step 1: rename column authors: phone_number → phone
-- RISK MEDIUM: renames authors.phone_number to phone: no data changes, but old readers break
ALTER TABLE "authors" RENAME COLUMN "phone" TO "phone_number";
