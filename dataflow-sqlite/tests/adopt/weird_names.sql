CREATE TABLE "Order Lines" (
    id INTEGER PRIMARY KEY,
    "Unit Price" DOUBLE NOT NULL,
    "type" TEXT NOT NULL DEFAULT 'std',
    "2fa" BOOLEAN,
    "self" TEXT,
    "unitPrice" TEXT
);
CREATE INDEX "Order Lines by type" ON "Order Lines" ("type", "Unit Price");
