DROP TABLE login_lockouts;
DROP TABLE login_attempts;
DROP TABLE tokens;
DROP TABLE users;
DROP TABLE org_units;
