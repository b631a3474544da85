-- The forwarder's shared state (trace.state.store=jdbc), one row set per tenant. Applied once by
-- org.m365trace.state.StateSchema; a later change is a new file V<n>__<what>.sql, never an edit of this one.

-- Who may write a tenant's state. A holder writes only while its row says owner = itself, epoch = its epoch and
-- expires_at > now(), checked in the same transaction as the write (SELECT ... FOR SHARE: a takeover waits for the
-- write to commit, and a write after a takeover finds another owner or epoch and fails). Taken over by
-- UPDATE ... SET epoch = epoch + 1, so every holder of a tenant has an epoch of its own.
CREATE TABLE trace_lease (
    tenant      text        PRIMARY KEY,
    owner       text        NOT NULL,
    epoch       bigint      NOT NULL,
    expires_at  timestamptz NOT NULL,
    acquired_at timestamptz NOT NULL DEFAULT now()
);

-- The end of the newest window read whole and accepted by every sink; moves only forward.
CREATE TABLE trace_checkpoint (
    tenant     text        PRIMARY KEY,
    checkpoint timestamptz NOT NULL,
    epoch      bigint      NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- The dedupe keys of the records forwarded: the 128-bit digest of messageTraceId|recipientAddress|status (as the
-- file store keeps in memory). The primary key makes a second record of the same key impossible: an insert of a
-- key already there does nothing (ON CONFLICT DO NOTHING) and the inserted count tells. seq orders the keys, newest
-- highest: the newest dedupe.cacheSize of a tenant are kept, older ones pruned.
CREATE SEQUENCE trace_seen_seq;
CREATE TABLE trace_seen (
    tenant text   NOT NULL,
    digest uuid   NOT NULL,
    seq    bigint NOT NULL DEFAULT nextval('trace_seen_seq'),
    epoch  bigint NOT NULL,
    PRIMARY KEY (tenant, digest)
);
CREATE INDEX trace_seen_by_age ON trace_seen (tenant, seq);

-- The keys of the rows on the end bound of the last two windows committed (the file store's seen.dat.bound): kept
-- apart from the newest keys until the next window is committed. older = the window before the last.
CREATE TABLE trace_seen_bound (
    tenant text    NOT NULL,
    older  boolean NOT NULL,
    key    text    NOT NULL,
    PRIMARY KEY (tenant, older, key)
);

-- The requests sent to the tenant's API lately (Graph allows about 100 per 5 minutes per tenant): a new holder of the
-- tenant paces its requests with its predecessor's.
CREATE TABLE trace_budget (
    id     bigserial   PRIMARY KEY,
    tenant text        NOT NULL,
    sent   timestamptz NOT NULL
);
CREATE INDEX trace_budget_by_tenant ON trace_budget (tenant, sent);
