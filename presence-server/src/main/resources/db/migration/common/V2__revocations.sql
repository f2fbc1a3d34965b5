-- Revocation by serial, and the key of each certificate: a renewal replaces the certificates of
-- the same key, and the per-account cap counts keys, i.e. devices (user_version 2 of the SQLite
-- databases before Flyway).
ALTER TABLE certificates ADD COLUMN key_sha256 TEXT;

CREATE TABLE IF NOT EXISTS revocations (
  serial TEXT PRIMARY KEY NOT NULL,
  address TEXT NOT NULL,
  revoked_ms BIGINT NOT NULL,
  reason TEXT NOT NULL);
