-- Members' daily-living items and income sources in a compact text (registry::stored): six
-- `1`/`0` characters instead of a JSON object of six named booleans (~115 bytes), a JSON array of
-- the seven amounts instead of an object of seven named ones (~105 bytes). Written for every
-- member, so a large import writes ~190 bytes a member less.
--
-- Converted in place. A value that is not such an object with every item a boolean (daily
-- living) or every present amount an integer (income; an absent one is 0, as it read) is left as
-- it is: it did not read before and does not now, and the readers still take the old form.

UPDATE members SET daily_living =
    CASE json_type(daily_living, '$.eating') WHEN 'true' THEN '1' WHEN 'false' THEN '0' END ||
    CASE json_type(daily_living, '$.dressing') WHEN 'true' THEN '1' WHEN 'false' THEN '0' END ||
    CASE json_type(daily_living, '$.getting_in_and_out_of_bed') WHEN 'true' THEN '1' WHEN 'false' THEN '0' END ||
    CASE json_type(daily_living, '$.toileting') WHEN 'true' THEN '1' WHEN 'false' THEN '0' END ||
    CASE json_type(daily_living, '$.walking_indoors') WHEN 'true' THEN '1' WHEN 'false' THEN '0' END ||
    CASE json_type(daily_living, '$.bathing') WHEN 'true' THEN '1' WHEN 'false' THEN '0' END
WHERE daily_living LIKE '{%' AND json_valid(daily_living)
    AND json_type(daily_living, '$.eating') IN ('true', 'false')
    AND json_type(daily_living, '$.dressing') IN ('true', 'false')
    AND json_type(daily_living, '$.getting_in_and_out_of_bed') IN ('true', 'false')
    AND json_type(daily_living, '$.toileting') IN ('true', 'false')
    AND json_type(daily_living, '$.walking_indoors') IN ('true', 'false')
    AND json_type(daily_living, '$.bathing') IN ('true', 'false');

UPDATE members SET income = json_array(
    coalesce(json_extract(income, '$.wages_fen'), 0),
    coalesce(json_extract(income, '$.farming_fen'), 0),
    coalesce(json_extract(income, '$.business_fen'), 0),
    coalesce(json_extract(income, '$.rent_fen'), 0),
    coalesce(json_extract(income, '$.pension_fen'), 0),
    coalesce(json_extract(income, '$.support_fen'), 0),
    coalesce(json_extract(income, '$.other_fen'), 0))
WHERE income LIKE '{%' AND json_valid(income)
    AND coalesce(json_type(income, '$.wages_fen'), 'integer') = 'integer'
    AND coalesce(json_type(income, '$.farming_fen'), 'integer') = 'integer'
    AND coalesce(json_type(income, '$.business_fen'), 'integer') = 'integer'
    AND coalesce(json_type(income, '$.rent_fen'), 'integer') = 'integer'
    AND coalesce(json_type(income, '$.pension_fen'), 'integer') = 'integer'
    AND coalesce(json_type(income, '$.support_fen'), 'integer') = 'integer'
    AND coalesce(json_type(income, '$.other_fen'), 'integer') = 'integer';
