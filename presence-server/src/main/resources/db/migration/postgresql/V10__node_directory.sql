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

-- (address, service) -> the nodes holding a Listen session for it; one row per node however many
-- sessions it holds for the pair.
CREATE TABLE listeners (
  address text NOT NULL,
  service text NOT NULL,
  node_id text NOT NULL REFERENCES nodes (node_id) ON DELETE CASCADE,
  PRIMARY KEY (address, service, node_id)
);
CREATE INDEX listeners_by_node ON listeners (node_id);
