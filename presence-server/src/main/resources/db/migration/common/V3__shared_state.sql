-- What several nodes of one domain share through the database.

-- Facts about the database as a whole, written once: the domain and the CA fingerprint it was
-- created with (a node with another CA is refused).
CREATE TABLE server_facts (
  name TEXT PRIMARY KEY NOT NULL,
  value TEXT NOT NULL);

-- A counter per kind of data, bumped in the same transaction as a change the other nodes (and
-- processes) must notice; they poll it.
CREATE TABLE revisions (
  name TEXT PRIMARY KEY NOT NULL,
  value BIGINT NOT NULL);
INSERT INTO revisions(name, value) VALUES ('revocations', 0);

-- Failed password attempts (and attempts being checked) per limit key, for the sliding windows
-- of the registration limits; rows older than the window are deleted.
CREATE TABLE password_failures (
  id TEXT PRIMARY KEY NOT NULL,
  limit_key TEXT NOT NULL,
  at_ms BIGINT NOT NULL);
CREATE INDEX password_failures_by_key ON password_failures(limit_key, at_ms);

-- Token buckets of the domain-wide rates (account creations per client network).
CREATE TABLE rate_buckets (
  name TEXT NOT NULL,
  limit_key TEXT NOT NULL,
  tokens DOUBLE PRECISION NOT NULL,
  at_ms BIGINT NOT NULL,
  PRIMARY KEY (name, limit_key));
