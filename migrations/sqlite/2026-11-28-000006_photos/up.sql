-- Photos (the phone's UUID is the id) with what was read from them before their metadata was
-- stripped, and resumable uploads in progress. Bytes live in the photo store, content-addressed.

CREATE TABLE photos (
    id TEXT PRIMARY KEY NOT NULL,
    owner_id TEXT NOT NULL REFERENCES users (id),
    org_path TEXT NOT NULL,
    media_type TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    phash BIGINT NOT NULL,
    phash_b0 INTEGER NOT NULL,
    phash_b1 INTEGER NOT NULL,
    phash_b2 INTEGER NOT NULL,
    phash_b3 INTEGER NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    byte_size BIGINT NOT NULL,
    exif_lat DOUBLE,
    exif_lon DOUBLE,
    exif_taken_at TIMESTAMP,
    exif_make TEXT,
    exif_model TEXT,
    original_key TEXT NOT NULL,
    display_key TEXT NOT NULL,
    thumb_key TEXT NOT NULL,
    visit_id TEXT REFERENCES visits (id),
    household_id TEXT REFERENCES households (id),
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX photos_owner ON photos (owner_id, created_at);
CREATE INDEX photos_sha ON photos (sha256);
CREATE INDEX photos_visit ON photos (visit_id);
-- Near-duplicate search: two hashes within 3 bits share at least one 16-bit band.
CREATE INDEX photos_b0 ON photos (phash_b0);
CREATE INDEX photos_b1 ON photos (phash_b1);
CREATE INDEX photos_b2 ON photos (phash_b2);
CREATE INDEX photos_b3 ON photos (phash_b3);

CREATE TABLE uploads (
    id TEXT PRIMARY KEY NOT NULL,
    owner_id TEXT NOT NULL REFERENCES users (id),
    photo_id TEXT NOT NULL,
    length BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    committed BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX uploads_expiry ON uploads (expires_at);
