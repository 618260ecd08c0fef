-- Audit retention drops whole months (partitions hold every tenant, so a month goes once the
-- longest tenant retention has passed it; tenant_retention.audit_months, default 13). Before a
-- month is dropped, each tenant's last event in it becomes that tenant's chain anchor, so the
-- first surviving event still verifies. SECURITY DEFINER: the runtime role may run retention but
-- neither choose what to drop nor drop a partition itself (see README, two roles).
CREATE FUNCTION audit_retention_drop() RETURNS text[]
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
DECLARE
  keep integer;
  cutoff timestamptz;
  p record;
  dropped text[] := '{}';
BEGIN
  SELECT greatest(coalesce(max(audit_months), 13),
                  CASE WHEN EXISTS (SELECT 1 FROM tenants t WHERE NOT EXISTS (SELECT 1 FROM tenant_retention r WHERE r.tenant_id = t.id)) THEN 13 ELSE 1 END)
    INTO keep FROM tenant_retention;
  cutoff := (date_trunc('month', now() AT TIME ZONE 'UTC') - make_interval(months => keep)) AT TIME ZONE 'UTC';
  FOR p IN
    SELECT i.inhrelid::regclass::text AS name, partition_upper_bound(i.inhrelid) AS upper
      FROM pg_inherits i WHERE i.inhparent = 'audit_events'::regclass AND i.inhrelid::regclass::text <> 'audit_events_default'
     ORDER BY 2
  LOOP
    CONTINUE WHEN p.upper IS NULL OR p.upper > cutoff;
    EXECUTE format(
      'INSERT INTO audit_chain_anchors (tenant_id, seq, hash, dropped_partition)
         SELECT DISTINCT ON (e.tenant_id) e.tenant_id, e.seq, e.hash, %L FROM %I e
          WHERE e.seq IS NOT NULL
            AND e.seq > coalesce((SELECT max(a.seq) FROM audit_chain_anchors a WHERE a.tenant_id = e.tenant_id), 0)
          ORDER BY e.tenant_id, e.seq DESC', p.name, p.name);
    EXECUTE format('ALTER TABLE audit_events DETACH PARTITION %I', p.name);
    EXECUTE format('DROP TABLE %I', p.name);
    dropped := dropped || p.name;
  END LOOP;
  RETURN dropped;
END;
$$;
