-- Back to the JSON objects serde writes for DailyLiving and Income.
UPDATE members SET daily_living = json_object(
    'eating', json(CASE substr(daily_living, 1, 1) WHEN '1' THEN 'true' ELSE 'false' END),
    'dressing', json(CASE substr(daily_living, 2, 1) WHEN '1' THEN 'true' ELSE 'false' END),
    'getting_in_and_out_of_bed', json(CASE substr(daily_living, 3, 1) WHEN '1' THEN 'true' ELSE 'false' END),
    'toileting', json(CASE substr(daily_living, 4, 1) WHEN '1' THEN 'true' ELSE 'false' END),
    'walking_indoors', json(CASE substr(daily_living, 5, 1) WHEN '1' THEN 'true' ELSE 'false' END),
    'bathing', json(CASE substr(daily_living, 6, 1) WHEN '1' THEN 'true' ELSE 'false' END))
WHERE daily_living NOT LIKE '{%' AND length(daily_living) = 6;

UPDATE members SET income = json_object(
    'wages_fen', json_extract(income, '$[0]'),
    'farming_fen', json_extract(income, '$[1]'),
    'business_fen', json_extract(income, '$[2]'),
    'rent_fen', json_extract(income, '$[3]'),
    'pension_fen', json_extract(income, '$[4]'),
    'support_fen', json_extract(income, '$[5]'),
    'other_fen', json_extract(income, '$[6]'))
WHERE income LIKE '[%' AND json_valid(income) AND json_array_length(income) = 7;
