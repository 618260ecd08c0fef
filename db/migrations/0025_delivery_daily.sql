CREATE TABLE "delivery_daily" (
	"day" date NOT NULL,
	"tenant_id" text NOT NULL,
	"channel" text NOT NULL,
	"provider" text NOT NULL,
	"shard" smallint DEFAULT 0 NOT NULL,
	"sent" integer DEFAULT 0 NOT NULL,
	"delivered" integer DEFAULT 0 NOT NULL,
	"deferred" integer DEFAULT 0 NOT NULL,
	"bounced" integer DEFAULT 0 NOT NULL,
	"complained" integer DEFAULT 0 NOT NULL,
	"suppressed" integer DEFAULT 0 NOT NULL,
	CONSTRAINT "delivery_daily_day_tenant_id_channel_provider_shard_pk" PRIMARY KEY("day","tenant_id","channel","provider","shard")
);
--> statement-breakpoint
ALTER TABLE "delivery_daily" ADD CONSTRAINT "delivery_daily_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "delivery_daily_tenant_day_idx" ON "delivery_daily" USING btree ("tenant_id","day");--> statement-breakpoint
CREATE INDEX "notifications_created_idx" ON "notifications" USING btree ("created_at" DESC NULLS LAST,"id" DESC NULLS LAST);--> statement-breakpoint
-- Adds counts to the day's row; the shard follows the backend, so concurrent sessions write different rows.
-- Counts for a tenant that no longer exists are dropped rather than failing what is being recorded.
CREATE FUNCTION delivery_daily_add(d date, tenant text, ch text, prov text, n_sent int, n_delivered int, n_deferred int, n_bounced int, n_complained int, n_suppressed int)
RETURNS void LANGUAGE sql AS $$
  INSERT INTO delivery_daily AS r (day, tenant_id, channel, provider, shard, sent, delivered, deferred, bounced, complained, suppressed)
  SELECT d, tenant, ch, coalesce(prov, 'unknown'), (pg_backend_pid() % 4)::smallint, n_sent, n_delivered, n_deferred, n_bounced, n_complained, n_suppressed
  WHERE EXISTS (SELECT 1 FROM tenants WHERE id = tenant)
  ON CONFLICT (day, tenant_id, channel, provider, shard) DO UPDATE SET
    sent = r.sent + excluded.sent, delivered = r.delivered + excluded.delivered, deferred = r.deferred + excluded.deferred,
    bounced = r.bounced + excluded.bounced, complained = r.complained + excluded.complained, suppressed = r.suppressed + excluded.suppressed
$$;
--> statement-breakpoint
-- One attempt: sent when it is the first for its notification, channel and target (device); then its outcome.
-- A refusal for good at send counts as a bounce (the receiver's own 5xx), so its feedback event (source smtp) does not count again.
CREATE FUNCTION delivery_daily_attempt() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  tenant text;
  first boolean;
BEGIN
  SELECT tenant_id INTO tenant FROM notifications WHERE id = NEW.notification_id;
  IF tenant IS NULL THEN RETURN NULL; END IF;
  first := NOT EXISTS (
    SELECT 1 FROM delivery_attempts a
    WHERE a.notification_id = NEW.notification_id AND a.channel = NEW.channel AND a.target IS NOT DISTINCT FROM NEW.target AND a.id <> NEW.id);
  PERFORM delivery_daily_add((NEW.finished_at AT TIME ZONE 'UTC')::date, tenant, NEW.channel, NEW.provider,
    first::int, (NEW.outcome = 'accepted')::int, (NEW.outcome = 'deferred')::int, (NEW.outcome = 'failed')::int, 0, 0);
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER delivery_daily_attempt AFTER INSERT ON delivery_attempts FOR EACH ROW EXECUTE FUNCTION delivery_daily_attempt();
--> statement-breakpoint
-- Bounce reports and complaints received after the send (a DSN, an ARF report, a provider's webhook).
CREATE FUNCTION delivery_daily_feedback() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM delivery_daily_add((NEW.received_at AT TIME ZONE 'UTC')::date, NEW.tenant_id, 'email', NEW.provider,
    0, 0, 0, (NEW.kind = 'bounce')::int, (NEW.kind = 'complaint')::int, 0);
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER delivery_daily_feedback AFTER INSERT ON feedback_events FOR EACH ROW
  WHEN (NEW.kind IN ('bounce', 'complaint') AND NEW.source <> 'smtp')
  EXECUTE FUNCTION delivery_daily_feedback();
--> statement-breakpoint
-- An e-mail held back because its address is suppressed: no provider was chosen for it.
CREATE FUNCTION delivery_daily_suppressed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM delivery_daily_add((NEW.at AT TIME ZONE 'UTC')::date, NEW.tenant_id, 'email', NULL, 0, 0, 0, 0, 0, 1);
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER delivery_daily_suppressed AFTER INSERT ON audit_events FOR EACH ROW
  WHEN (NEW.step = 'email.suppressed')
  EXECUTE FUNCTION delivery_daily_suppressed();
--> statement-breakpoint
-- What was recorded before this migration, counted once (shard 0).
INSERT INTO delivery_daily (day, tenant_id, channel, provider, sent, delivered, deferred, bounced, complained, suppressed)
SELECT day, tenant_id, channel, provider, sum(sent) AS sent, sum(delivered) AS delivered, sum(deferred) AS deferred,
  sum(bounced) AS bounced, sum(complained) AS complained, sum(suppressed) AS suppressed
FROM (
  SELECT (a.finished_at AT TIME ZONE 'UTC')::date AS day, n.tenant_id, a.channel, coalesce(a.provider, 'unknown') AS provider,
    (row_number() OVER (PARTITION BY a.notification_id, a.channel, a.target ORDER BY a.finished_at, a.id) = 1)::int AS sent,
    (a.outcome = 'accepted')::int AS delivered, (a.outcome = 'deferred')::int AS deferred, (a.outcome = 'failed')::int AS bounced,
    0 AS complained, 0 AS suppressed
  FROM delivery_attempts a JOIN notifications n ON n.id = a.notification_id
  UNION ALL
  SELECT (f.received_at AT TIME ZONE 'UTC')::date, f.tenant_id, 'email', coalesce(f.provider, 'unknown'),
    0, 0, 0, (f.kind = 'bounce')::int, (f.kind = 'complaint')::int, 0
  FROM feedback_events f JOIN tenants t ON t.id = f.tenant_id
  WHERE f.kind IN ('bounce', 'complaint') AND f.source <> 'smtp'
  UNION ALL
  SELECT (e.at AT TIME ZONE 'UTC')::date, e.tenant_id, 'email', 'unknown', 0, 0, 0, 0, 0, 1
  FROM audit_events e JOIN tenants t ON t.id = e.tenant_id
  WHERE e.step = 'email.suppressed'
) counts
GROUP BY day, tenant_id, channel, provider;
