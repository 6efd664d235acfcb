-- A second factor (TOTP, RFC 6238) per account: its secret sealed like an ID number
-- ("key id:ciphertext", the column as associated data), whether it was confirmed with a code,
-- and the last time step a code was accepted for (a code is good once).
ALTER TABLE users ADD COLUMN totp_cipher TEXT;
ALTER TABLE users ADD COLUMN totp_enabled BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE users ADD COLUMN totp_last_step BIGINT;
