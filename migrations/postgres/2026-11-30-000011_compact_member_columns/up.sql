-- Members' daily-living items and income sources in a compact text (registry::stored): six
-- `1`/`0` characters instead of a JSON object of six named booleans (~115 bytes), a JSON array of
-- the seven amounts instead of an object of seven named ones (~105 bytes). Written for every
-- member, so a large import writes ~190 bytes a member less.
--
-- Converted in place. A value that is not such an object with every item a boolean (daily
-- living) or every present amount an integer (income; an absent one is 0, as it read) is left as
-- it is: it did not read before and does not now, and the readers still take the old form.

UPDATE members m SET daily_living = c.compact
FROM (
    SELECT id,
        CASE j->'eating' WHEN 'true' THEN '1' WHEN 'false' THEN '0' END ||
        CASE j->'dressing' WHEN 'true' THEN '1' WHEN 'false' THEN '0' END ||
        CASE j->'getting_in_and_out_of_bed' WHEN 'true' THEN '1' WHEN 'false' THEN '0' END ||
        CASE j->'toileting' WHEN 'true' THEN '1' WHEN 'false' THEN '0' END ||
        CASE j->'walking_indoors' WHEN 'true' THEN '1' WHEN 'false' THEN '0' END ||
        CASE j->'bathing' WHEN 'true' THEN '1' WHEN 'false' THEN '0' END AS compact
    FROM (SELECT id, daily_living::jsonb AS j FROM members WHERE daily_living LIKE '{%') o
) c
WHERE m.id = c.id AND c.compact IS NOT NULL;

UPDATE members m SET income = c.compact
FROM (
    SELECT id, '[' || concat_ws(',',
            coalesce(j->>'wages_fen', '0'),
            coalesce(j->>'farming_fen', '0'),
            coalesce(j->>'business_fen', '0'),
            coalesce(j->>'rent_fen', '0'),
            coalesce(j->>'pension_fen', '0'),
            coalesce(j->>'support_fen', '0'),
            coalesce(j->>'other_fen', '0')) || ']' AS compact
    FROM (SELECT id, income::jsonb AS j FROM members WHERE income LIKE '{%') o
    WHERE jsonb_typeof(j) = 'object'
) c
WHERE m.id = c.id AND c.compact ~ '^\[-?[0-9]+(,-?[0-9]+){6}\]$';
