-- Back to hex text. Only the 16 bytes kept can come back (32 hex characters, not 64), so the
-- code before 000004 will not find the numbers stored until their indexes are recomputed from
-- the ID numbers with the index key; run `up` again instead where possible.

ALTER TABLE id_conflicts ALTER COLUMN id_blind TYPE text USING encode(id_blind, 'hex');
ALTER TABLE members ALTER COLUMN id_blind TYPE text USING encode(id_blind, 'hex');

CREATE INDEX households_head_name ON households (head_name);
