-- Per-tenant token buckets for the API's rate limits (domain/tenancy/limits.ts). The buckets are
-- only a moment's state: UNLOGGED (no WAL), a crash merely refills them.
ALTER TABLE "rate_buckets" SET UNLOGGED;
--> statement-breakpoint
-- Takes p_cost tokens from the tenant's bucket of one kind, refilled at the tenant's rate up to its
-- burst (the operator's tenant_rate_limits row, else the defaults passed in). One call is one
-- atomic statement: the upsert locks the bucket row until commit, so concurrent API processes
-- serialise on it and the limit holds for all of them together. A request is admitted when the
-- bucket holds its cost (or, for a cost above the burst, when the bucket is full); the bucket may
-- then go negative, and that debt is repaid before the next request passes.
CREATE OR REPLACE FUNCTION take_rate_tokens(p_tenant text, p_kind text, p_cost double precision,
    p_default_rate double precision, p_default_burst double precision)
RETURNS TABLE (allowed boolean, remaining double precision, wait_ms integer, rate double precision, burst double precision)
LANGUAGE plpgsql AS $$
DECLARE
  v_now timestamptz := clock_timestamp();
  v_rate double precision;
  v_burst double precision;
  v_tokens double precision;
  v_need double precision;
BEGIN
  SELECT CASE WHEN p_kind = 'requests' THEN l.requests_per_second ELSE l.notifications_per_second END,
         CASE WHEN p_kind = 'requests' THEN l.requests_burst ELSE l.notifications_burst END
    INTO v_rate, v_burst
    FROM tenant_rate_limits l WHERE l.tenant_id = p_tenant;
  v_rate := greatest(coalesce(v_rate, p_default_rate), 0.001);
  v_burst := greatest(coalesce(v_burst, p_default_burst), 1);
  INSERT INTO rate_buckets AS b (tenant_id, kind, tokens, refilled_at) VALUES (p_tenant, p_kind, v_burst, v_now)
  ON CONFLICT (tenant_id, kind) DO UPDATE
    SET tokens = least(v_burst, b.tokens + greatest(0, extract(epoch FROM (v_now - b.refilled_at))) * v_rate),
        refilled_at = greatest(b.refilled_at, v_now)
  RETURNING b.tokens INTO v_tokens;
  v_need := least(p_cost, v_burst);
  IF v_tokens >= v_need THEN
    UPDATE rate_buckets SET tokens = v_tokens - p_cost WHERE tenant_id = p_tenant AND kind = p_kind;
    RETURN QUERY SELECT true, v_tokens - p_cost, 0, v_rate, v_burst;
  ELSE
    RETURN QUERY SELECT false, v_tokens, ceil((v_need - v_tokens) / v_rate * 1000)::integer, v_rate, v_burst;
  END IF;
END $$;
