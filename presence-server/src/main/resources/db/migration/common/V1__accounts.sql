-- Accounts and the certificates issued to them (the schema q2q's SQLite databases had as
-- user_version 1; an existing one is baselined at this version, not created again).
-- Times are epoch milliseconds; password_hash is an Argon2id PHC string; serial is hex.
CREATE TABLE IF NOT EXISTS accounts (
  address TEXT PRIMARY KEY NOT NULL,
  password_hash TEXT NOT NULL,
  created_ms BIGINT NOT NULL);

CREATE TABLE IF NOT EXISTS certificates (
  serial TEXT PRIMARY KEY NOT NULL,
  address TEXT NOT NULL REFERENCES accounts(address),
  not_after_ms BIGINT NOT NULL,
  issued_ms BIGINT NOT NULL);

CREATE INDEX IF NOT EXISTS certificates_by_address ON certificates(address);
