-- The instances of a cluster (trace.cluster.enabled=true): each renews its row with its heartbeat, so that the others
-- know how many share the tenants (each takes at most its share of the leases in trace_lease).
CREATE TABLE trace_member (
    owner      text        PRIMARY KEY,
    expires_at timestamptz NOT NULL
);
