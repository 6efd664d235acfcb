DROP FUNCTION analyze_tables(TEXT[]);
