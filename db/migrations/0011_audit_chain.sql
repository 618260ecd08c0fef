-- Tamper-evident audit: every audit event carries the hash of the previous event of its tenant's
-- chain. The hash covers the event's fields and a digest of `detail` (not `detail` itself), so an
-- erasure may blank a detail that names the user and the chain still verifies. The chain head
-- per tenant is one row of audit_chain_heads: advancing it in the insert trigger takes its row
-- lock, which serialises the tenant's audit writes until commit, so the chain order is the commit
-- order and a link always points at a committed event. One UPDATE per event, no extra round trip.

CREATE FUNCTION audit_event_hash(prev bytea, tenant text, seq bigint, id bigint, at timestamptz, step text, notification uuid, detail_digest bytea)
RETURNS bytea LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT sha256(convert_to(concat_ws('|', encode(prev, 'hex'), tenant, seq::text, id::text,
    (extract(epoch FROM at) * 1000000)::bigint::text, step, coalesce(notification::text, '-'), encode(detail_digest, 'hex')), 'UTF8'))
$$;
--> statement-breakpoint
CREATE FUNCTION audit_detail_digest(detail jsonb) RETURNS bytea LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT sha256(convert_to(detail::text, 'UTF8'))
$$;
--> statement-breakpoint
CREATE FUNCTION audit_events_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  head record;
BEGIN
  NEW.detail_digest := audit_detail_digest(NEW.detail);
  UPDATE audit_chain_heads h
     SET prev = h.hash,
         seq = h.seq + 1,
         hash = audit_event_hash(h.hash, NEW.tenant_id, h.seq + 1, NEW.id, NEW.at, NEW.step, NEW.notification_id, NEW.detail_digest)
   WHERE h.tenant_id = NEW.tenant_id
  RETURNING h.seq, h.prev, h.hash INTO head;
  IF NOT FOUND THEN
    -- The tenant's first event: create the head (a concurrent first insert waits on the key, then updates).
    INSERT INTO audit_chain_heads (tenant_id) VALUES (NEW.tenant_id) ON CONFLICT DO NOTHING;
    UPDATE audit_chain_heads h
       SET prev = h.hash,
           seq = h.seq + 1,
           hash = audit_event_hash(h.hash, NEW.tenant_id, h.seq + 1, NEW.id, NEW.at, NEW.step, NEW.notification_id, NEW.detail_digest)
     WHERE h.tenant_id = NEW.tenant_id
    RETURNING h.seq, h.prev, h.hash INTO head;
  END IF;
  NEW.seq := head.seq;
  NEW.prev_hash := head.prev;
  NEW.hash := head.hash;
  RETURN NEW;
END;
$$;
--> statement-breakpoint
-- Existing events join the chain in id order, before the trigger that guards them is back.
ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update;
--> statement-breakpoint
DO $$
DECLARE
  r record;
  h record;
BEGIN
  FOR r IN SELECT id, at, tenant_id, step, notification_id, detail FROM audit_events ORDER BY tenant_id, id LOOP
    INSERT INTO audit_chain_heads (tenant_id) VALUES (r.tenant_id) ON CONFLICT DO NOTHING;
    UPDATE audit_chain_heads c
       SET prev = c.hash, seq = c.seq + 1,
           hash = audit_event_hash(c.hash, r.tenant_id, c.seq + 1, r.id, r.at, r.step, r.notification_id, audit_detail_digest(r.detail))
     WHERE c.tenant_id = r.tenant_id
    RETURNING c.seq, c.prev, c.hash INTO h;
    UPDATE audit_events SET seq = h.seq, prev_hash = h.prev, hash = h.hash, detail_digest = audit_detail_digest(r.detail)
     WHERE id = r.id AND at = r.at;
  END LOOP;
END $$;
--> statement-breakpoint
ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_update;
--> statement-breakpoint
CREATE TRIGGER audit_events_chain BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION audit_events_chain();
--> statement-breakpoint
-- Append-only, except that an erasure (SET LOCAL notiflow.erasure = 'on') may blank a detail to
-- {"erased": true}; the digest and hash stay, so the chain still verifies and nothing can be forged.
CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND current_setting('notiflow.erasure', true) = 'on'
     AND NEW.detail = '{"erased": true}'::jsonb
     AND (NEW.id, NEW.tenant_id, NEW.notification_id, NEW.at, NEW.step, NEW.seq, NEW.prev_hash, NEW.hash, NEW.detail_digest)
         IS NOT DISTINCT FROM (OLD.id, OLD.tenant_id, OLD.notification_id, OLD.at, OLD.step, OLD.seq, OLD.prev_hash, OLD.hash, OLD.detail_digest) THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'audit_events is append-only';
END;
$$ LANGUAGE plpgsql;
--> statement-breakpoint
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();
--> statement-breakpoint
-- The chain heads and anchors are evidence too: heads only move forward (by the insert trigger), anchors are only added.
CREATE FUNCTION audit_chain_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND TG_TABLE_NAME = 'audit_chain_heads' AND NEW.tenant_id = OLD.tenant_id AND NEW.seq = OLD.seq + 1 AND NEW.prev = OLD.hash THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER audit_chain_heads_guard BEFORE UPDATE OR DELETE ON audit_chain_heads FOR EACH ROW EXECUTE FUNCTION audit_chain_guard();
--> statement-breakpoint
CREATE TRIGGER audit_chain_heads_no_truncate BEFORE TRUNCATE ON audit_chain_heads FOR EACH STATEMENT EXECUTE FUNCTION audit_chain_guard();
--> statement-breakpoint
CREATE TRIGGER audit_chain_anchors_guard BEFORE UPDATE OR DELETE ON audit_chain_anchors FOR EACH ROW EXECUTE FUNCTION audit_chain_guard();
--> statement-breakpoint
CREATE TRIGGER audit_chain_anchors_no_truncate BEFORE TRUNCATE ON audit_chain_anchors FOR EACH STATEMENT EXECUTE FUNCTION audit_chain_guard();
--> statement-breakpoint
-- Consent records: append-only; an erasure removes the user's, and so does deleting the tenant (a cascade).
CREATE FUNCTION consent_records_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' AND (current_setting('notiflow.erasure', true) = 'on' OR pg_trigger_depth() > 1) THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION 'consent_records is append-only';
END;
$$;
--> statement-breakpoint
CREATE TRIGGER consent_records_append_only BEFORE UPDATE OR DELETE ON consent_records FOR EACH ROW EXECUTE FUNCTION consent_records_append_only();
--> statement-breakpoint
CREATE TRIGGER consent_records_no_truncate BEFORE TRUNCATE ON consent_records FOR EACH STATEMENT EXECUTE FUNCTION consent_records_append_only();
--> statement-breakpoint
-- Erasure finds the user-level audit events (user.created, preferences.*) that name the user; a
-- notification's events are found through its id, so the hot path's inserts skip this index.
CREATE INDEX audit_events_user_idx ON audit_events (tenant_id, (detail->>'userId')) WHERE detail ? 'userId' AND notification_id IS NULL;
