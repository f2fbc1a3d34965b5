-- Other domains' CAs this domain learned by federation, pinned on first use (issue 14: in the
-- database, so that every node of the domain trusts the same CA for a domain). Files that older
-- versions kept in <data>/federation-cas are imported at start.
CREATE TABLE foreign_cas (
  domain TEXT PRIMARY KEY NOT NULL,
  ca_pem TEXT NOT NULL,
  pinned_ms BIGINT NOT NULL);
