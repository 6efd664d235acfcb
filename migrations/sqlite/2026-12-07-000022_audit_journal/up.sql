-- The phones' and citizens' writes (a visit submitted, a photo stored, a registration, a log-out)
-- are recorded here, in the transaction of the write, and chained into audit_log by the sealer
-- within a second: taking the chain's head in every such write would serialise them all.
-- (The rowid orders the records; no AUTOINCREMENT, which writes sqlite_sequence on every insert:
-- an id may come back once its record is chained and gone, and nothing keeps it.)
CREATE TABLE audit_journal (
    id INTEGER PRIMARY KEY NOT NULL,
    at TIMESTAMP NOT NULL,
    actor_id TEXT,
    action TEXT NOT NULL,
    entity TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    org_path TEXT NOT NULL,
    detail TEXT NOT NULL,
    result TEXT NOT NULL,
    request_id TEXT
);
