-- Back to the JSON objects serde writes for DailyLiving and Income.
UPDATE members SET daily_living = json_build_object(
    'eating', substr(daily_living, 1, 1) = '1',
    'dressing', substr(daily_living, 2, 1) = '1',
    'getting_in_and_out_of_bed', substr(daily_living, 3, 1) = '1',
    'toileting', substr(daily_living, 4, 1) = '1',
    'walking_indoors', substr(daily_living, 5, 1) = '1',
    'bathing', substr(daily_living, 6, 1) = '1')::text
WHERE daily_living NOT LIKE '{%' AND length(daily_living) = 6;

UPDATE members SET income = json_build_object(
    'wages_fen', (income::jsonb->>0)::bigint,
    'farming_fen', (income::jsonb->>1)::bigint,
    'business_fen', (income::jsonb->>2)::bigint,
    'rent_fen', (income::jsonb->>3)::bigint,
    'pension_fen', (income::jsonb->>4)::bigint,
    'support_fen', (income::jsonb->>5)::bigint,
    'other_fen', (income::jsonb->>6)::bigint)::text
WHERE income ~ '^\[-?[0-9]+(,-?[0-9]+){6}\]$';
