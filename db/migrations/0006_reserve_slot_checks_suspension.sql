-- reserve_send_slot() also refuses a slot while the source is suspended for the provider (or for
-- every provider), checked under the same advisory lock. A send that chose its source just before
-- a provider rule suspended it then waits instead of meeting the same refusal: the send that
-- triggered the rule frees its slot only after the suspension is written (activities/pool/route.ts).
DROP FUNCTION IF EXISTS reserve_send_slot(text, text, timestamptz, timestamptz, timestamptz, timestamptz, int, int, int);
--> statement-breakpoint
CREATE FUNCTION reserve_send_slot(
  p_egress text, p_provider text, p_now timestamptz, p_window_start timestamptz, p_stale timestamptz,
  p_day_start timestamptz, p_connections int, p_rate_count int, p_cap int
) RETURNS TABLE (reservation_id bigint, inflight int, in_window int, oldest_release float8, today int, suspended_until float8)
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext('egress-slot:' || p_egress));
  SELECT (extract(epoch FROM max(c.until)) * 1000)::float8 INTO suspended_until
  FROM egress_controls c
  WHERE c.egress_id = p_egress AND c.provider IN (p_provider, '*') AND c.kind = 'suspend' AND c.until > p_now;
  SELECT
    count(*) FILTER (WHERE r.provider = p_provider AND r.released_at IS NULL AND r.reserved_at > p_stale)::int,
    count(*) FILTER (WHERE r.provider = p_provider AND ((r.released_at IS NULL AND r.reserved_at > p_stale) OR r.released_at >= p_window_start))::int,
    (extract(epoch FROM min(r.released_at) FILTER (WHERE r.provider = p_provider AND r.released_at >= p_window_start)) * 1000)::float8,
    count(*) FILTER (WHERE r.reserved_at >= p_day_start)::int
  INTO inflight, in_window, oldest_release, today
  FROM send_reservations r
  WHERE r.egress_id = p_egress AND r.reserved_at >= least(p_window_start, p_day_start) - (p_now - p_stale);
  reservation_id := NULL;
  IF suspended_until IS NULL AND (p_cap IS NULL OR today < p_cap) AND inflight < p_connections AND in_window < p_rate_count THEN
    INSERT INTO send_reservations (egress_id, provider, reserved_at) VALUES (p_egress, p_provider, p_now) RETURNING id INTO reservation_id;
  END IF;
  RETURN NEXT;
END;
$$;
