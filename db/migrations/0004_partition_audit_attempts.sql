-- audit_events and delivery_attempts grow with every notification (about 5 + 1 rows each) and are
-- never updated: they become range-partitioned by month (UTC) of their insert time, so retention
-- can drop a whole month and each month's indexes stay small. A partitioned table's primary key
-- has to include the partition key, hence (id, at) and (id, finished_at).
--
-- Existing rows are not copied: the old table is attached as one "legacy" partition covering
-- everything up to the end of the month of its newest row (dropped when empty). New months get
-- their own partitions from ensure_monthly_partitions() below, which the migration, the worker
-- at start and the delivery monitor schedule call; the default partition only catches rows
-- written when no month partition exists.

CREATE FUNCTION partition_upper_bound(part regclass) RETURNS timestamptz
LANGUAGE sql STABLE AS $$
  SELECT (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \(''([^'']+)''\)'))[1]::timestamptz
  FROM pg_class c WHERE c.oid = part
$$;
--> statement-breakpoint
-- Creates the partition of each partitioned table for this month, the next `months_ahead` and the
-- last `months_back` months where none covers it yet; returns how many it created. Skips (with a
-- warning) a month whose rows already sit in the default partition, and gives up on a busy lock
-- after 5 s: the next call tries again.
CREATE FUNCTION ensure_monthly_partitions(months_ahead integer DEFAULT 3, months_back integer DEFAULT 0) RETURNS integer
LANGUAGE plpgsql SET lock_timeout = '5s' AS $$
DECLARE
  t record;
  m timestamp;
  lo timestamptz;
  hi timestamptz;
  part text;
  covered timestamptz;
  stray boolean;
  created integer := 0;
BEGIN
  FOR t IN SELECT * FROM (VALUES ('audit_events', 'at'), ('delivery_attempts', 'finished_at')) AS v(tbl, col) LOOP
    -- Months below the legacy partition's upper bound are already covered by it.
    SELECT max(partition_upper_bound(i.inhrelid)) INTO covered
      FROM pg_inherits i WHERE i.inhparent = t.tbl::regclass AND i.inhrelid::regclass::text = t.tbl || '_legacy';
    FOR k IN -months_back..months_ahead LOOP
      -- Month arithmetic on UTC wall time: adding a month to a timestamptz follows the session's
      -- time zone and would shift the bound by the DST difference.
      m := date_trunc('month', now() AT TIME ZONE 'UTC') + make_interval(months => k);
      lo := m AT TIME ZONE 'UTC';
      hi := (m + interval '1 month') AT TIME ZONE 'UTC';
      part := t.tbl || '_' || to_char(m, 'YYYY_MM');
      CONTINUE WHEN to_regclass(part) IS NOT NULL OR lo < coalesce(covered, '-infinity');
      EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I WHERE %I >= %L AND %I < %L)', t.tbl || '_default', t.col, lo, t.col, hi) INTO stray;
      IF stray THEN
        RAISE WARNING '% has rows for % in its default partition: % not created', t.tbl, to_char(m, 'YYYY-MM'), part;
        CONTINUE;
      END IF;
      BEGIN
        EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)', part, t.tbl, lo, hi);
        created := created + 1;
      EXCEPTION WHEN lock_not_available THEN
        RAISE WARNING 'partition % not created: % is busy', part, t.tbl;
      END;
    END LOOP;
  END LOOP;
  RETURN created;
END;
$$;
--> statement-breakpoint
DROP TRIGGER audit_events_no_update ON audit_events;
--> statement-breakpoint
ALTER TABLE audit_events RENAME TO audit_events_legacy;
--> statement-breakpoint
ALTER TABLE audit_events_legacy DROP CONSTRAINT audit_events_pkey;
--> statement-breakpoint
ALTER INDEX audit_events_notification_idx RENAME TO audit_events_legacy_notification_idx;
--> statement-breakpoint
CREATE TABLE "audit_events" (
	"id" bigint DEFAULT nextval('audit_events_id_seq') NOT NULL,
	"tenant_id" text NOT NULL,
	"notification_id" uuid,
	"at" timestamp (6) with time zone DEFAULT clock_timestamp() NOT NULL,
	"step" text NOT NULL,
	"detail" jsonb DEFAULT '{}'::jsonb NOT NULL,
	CONSTRAINT "audit_events_id_at_pk" PRIMARY KEY("id","at")
) PARTITION BY RANGE ("at");
--> statement-breakpoint
-- The ids keep counting from the old table's sequence, which now belongs to the new table (it
-- would otherwise be dropped with the legacy partition).
ALTER SEQUENCE audit_events_id_seq OWNED BY audit_events.id;
--> statement-breakpoint
CREATE INDEX "audit_events_notification_idx" ON "audit_events" USING btree ("notification_id","id");
--> statement-breakpoint
CREATE TABLE audit_events_default PARTITION OF audit_events DEFAULT;
--> statement-breakpoint
DO $$
DECLARE bound timestamptz;
BEGIN
  SELECT (date_trunc('month', max(at) AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE 'UTC' INTO bound FROM audit_events_legacy;
  IF bound IS NULL THEN
    DROP TABLE audit_events_legacy;
  ELSE
    EXECUTE format('ALTER TABLE audit_events ATTACH PARTITION audit_events_legacy FOR VALUES FROM (MINVALUE) TO (%L)', bound);
  END IF;
END $$;
--> statement-breakpoint
-- On the partitioned table the trigger applies to every partition, present and future.
CREATE TRIGGER audit_events_no_update BEFORE UPDATE OR DELETE ON audit_events
  FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
--> statement-breakpoint
ALTER TABLE delivery_attempts RENAME TO delivery_attempts_legacy;
--> statement-breakpoint
ALTER TABLE delivery_attempts_legacy DROP CONSTRAINT delivery_attempts_pkey;
--> statement-breakpoint
ALTER INDEX delivery_attempts_notification_idx RENAME TO delivery_attempts_legacy_notification_idx;
--> statement-breakpoint
CREATE TABLE "delivery_attempts" (
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"notification_id" uuid NOT NULL,
	"channel" text NOT NULL,
	"attempt" integer NOT NULL,
	"outcome" text NOT NULL,
	"pool_id" text,
	"egress_id" text,
	"source_ip" text,
	"target" text,
	"provider" text,
	"response_code" integer,
	"response" text,
	"started_at" timestamp with time zone NOT NULL,
	"finished_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "delivery_attempts_id_finished_at_pk" PRIMARY KEY("id","finished_at")
) PARTITION BY RANGE ("finished_at");
--> statement-breakpoint
ALTER TABLE "delivery_attempts" ADD CONSTRAINT "delivery_attempts_notification_id_notifications_id_fk" FOREIGN KEY ("notification_id") REFERENCES "public"."notifications"("id") ON DELETE cascade ON UPDATE no action;
--> statement-breakpoint
CREATE INDEX "delivery_attempts_notification_idx" ON "delivery_attempts" USING btree ("notification_id","started_at");
--> statement-breakpoint
CREATE INDEX "delivery_attempts_finished_idx" ON "delivery_attempts" USING btree ("finished_at");
--> statement-breakpoint
CREATE TABLE delivery_attempts_default PARTITION OF delivery_attempts DEFAULT;
--> statement-breakpoint
DO $$
DECLARE bound timestamptz;
BEGIN
  SELECT (date_trunc('month', max(finished_at) AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE 'UTC' INTO bound FROM delivery_attempts_legacy;
  IF bound IS NULL THEN
    DROP TABLE delivery_attempts_legacy;
  ELSE
    EXECUTE format('ALTER TABLE delivery_attempts ATTACH PARTITION delivery_attempts_legacy FOR VALUES FROM (MINVALUE) TO (%L)', bound);
  END IF;
END $$;
--> statement-breakpoint
SELECT ensure_monthly_partitions();
