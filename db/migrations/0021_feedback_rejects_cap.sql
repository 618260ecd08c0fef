CREATE TABLE "feedback_rejects_usage" (
	"id" integer PRIMARY KEY NOT NULL,
	"rows" bigint DEFAULT 0 NOT NULL,
	"bytes" bigint DEFAULT 0 NOT NULL,
	"dropped" bigint DEFAULT 0 NOT NULL
);
--> statement-breakpoint
ALTER TABLE "feedback_rejects" ADD COLUMN "digest" text;--> statement-breakpoint
ALTER TABLE "feedback_rejects" ADD COLUMN "repeats" integer DEFAULT 1 NOT NULL;--> statement-breakpoint
ALTER TABLE "feedback_rejects" ADD COLUMN "last_received_at" timestamp with time zone DEFAULT now() NOT NULL;--> statement-breakpoint
ALTER TABLE "feedback_rejects" ADD COLUMN "tenant_id" text;--> statement-breakpoint
ALTER TABLE "feedback_rejects" ADD COLUMN "recipients" text[] DEFAULT '{}'::text[] NOT NULL;--> statement-breakpoint
CREATE UNIQUE INDEX "feedback_rejects_digest" ON "feedback_rejects" USING btree ("digest");--> statement-breakpoint
CREATE INDEX "feedback_rejects_recipients" ON "feedback_rejects" USING gin ("recipients");--> statement-breakpoint
CREATE INDEX "feedback_rejects_last_received" ON "feedback_rejects" USING btree ("last_received_at");--> statement-breakpoint
-- Rows kept before this migration: their first arrival is their last, and the addresses they quote are
-- indexed (erasure now finds rows through "recipients" only).
UPDATE "feedback_rejects" SET "last_received_at" = "received_at",
  "recipients" = array(SELECT DISTINCT m[1] FROM regexp_matches(lower("raw"), '([^][:space:]<>"''(),;:@]+@[^][:space:]<>"''(),;:@]+)', 'g') AS m);--> statement-breakpoint
INSERT INTO "feedback_rejects_usage" ("id", "rows", "bytes")
  SELECT 1, count(*), coalesce(sum(octet_length("raw") + octet_length("reason")), 0) FROM "feedback_rejects";--> statement-breakpoint
-- The usage row follows every insert and delete (one update per statement, prunes included), so the
-- cap is checked against one row instead of a scan of the table.
CREATE FUNCTION feedback_rejects_usage_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE feedback_rejects_usage SET rows = rows + n, bytes = bytes + b
    FROM (SELECT count(*) AS n, coalesce(sum(octet_length(raw) + octet_length(reason)), 0) AS b FROM added) AS s WHERE id = 1;
  RETURN NULL;
END $$;--> statement-breakpoint
CREATE FUNCTION feedback_rejects_usage_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE feedback_rejects_usage SET rows = rows - n, bytes = bytes - b
    FROM (SELECT count(*) AS n, coalesce(sum(octet_length(raw) + octet_length(reason)), 0) AS b FROM removed) AS s WHERE id = 1;
  RETURN NULL;
END $$;--> statement-breakpoint
CREATE FUNCTION feedback_rejects_usage_emptied() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE feedback_rejects_usage SET rows = 0, bytes = 0 WHERE id = 1;
  RETURN NULL;
END $$;--> statement-breakpoint
CREATE TRIGGER feedback_rejects_usage_added AFTER INSERT ON "feedback_rejects" REFERENCING NEW TABLE AS added
  FOR EACH STATEMENT EXECUTE FUNCTION feedback_rejects_usage_added();--> statement-breakpoint
CREATE TRIGGER feedback_rejects_usage_removed AFTER DELETE ON "feedback_rejects" REFERENCING OLD TABLE AS removed
  FOR EACH STATEMENT EXECUTE FUNCTION feedback_rejects_usage_removed();--> statement-breakpoint
CREATE TRIGGER feedback_rejects_usage_emptied AFTER TRUNCATE ON "feedback_rejects"
  FOR EACH STATEMENT EXECUTE FUNCTION feedback_rejects_usage_emptied();
