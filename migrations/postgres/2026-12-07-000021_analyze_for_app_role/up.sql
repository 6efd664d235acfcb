-- PostgreSQL 15 lets only a table's owner ANALYZE it, and the server's role of a least-privilege
-- deployment owns nothing (`jiuzhu migrate --app-role`). A bulk import refreshes the planner's
-- statistics as its tables grow (`db::refresh_statistics`): through this function, which runs as
-- its owner and does nothing but ANALYZE the named tables of this schema.
CREATE FUNCTION analyze_tables(tables TEXT[]) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    t TEXT;
BEGIN
    FOREACH t IN ARRAY tables LOOP
        IF to_regclass(format('public.%I', t)) IS NOT NULL THEN
            EXECUTE format('ANALYZE public.%I', t);
        END IF;
    END LOOP;
END
$$;
REVOKE ALL ON FUNCTION analyze_tables(TEXT[]) FROM PUBLIC;
