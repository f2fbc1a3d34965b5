-- The nodes serving the domain and who listens where (issue 14). A node's row is its heartbeat:
-- a node whose heartbeat_at is older than a few seconds (the database's clock) is dead, and its
-- listeners stop counting. A restarted node is a new node (a new random id).
CREATE TABLE nodes (
  node_id      text PRIMARY KEY,
  host         text NOT NULL,
  grpc_port    integer NOT NULL,
  relay_port   integer NOT NULL,
  started_at   timestamptz NOT NULL DEFAULT now(),
  heartbeat_at timestamptz NOT NULL DEFAULT now()
);

-- Every change to the listeners table takes the next number, and writers take one advisory lock for
-- their transaction first, so that numbers are committed in order: a node that has read every change
-- up to N can ask for those after N and miss none. Each node keeps the table in memory this way.
CREATE SEQUENCE listener_changes;

-- (address, service) -> the nodes holding a Listen session for it; one row per node however many
-- sessions it holds for the pair. A pair a node stopped listening for stays as present = false (its
-- change must reach the other nodes) until collected an hour later.
CREATE TABLE listeners (
  address    text NOT NULL,
  service    text NOT NULL,
  node_id    text NOT NULL REFERENCES nodes (node_id) ON DELETE CASCADE,
  present    boolean NOT NULL DEFAULT true,
  change     bigint NOT NULL DEFAULT nextval('listener_changes'),
  changed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (address, service, node_id)
);
CREATE INDEX listeners_by_node ON listeners (node_id);
CREATE INDEX listeners_by_change ON listeners (change);
