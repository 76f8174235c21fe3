-- The event outbox: domain events waiting for a relay to deliver them at
-- least once (ports.EventLog, ports.Outbox). Same conventions as 0001,
-- column types substituted per dialect.
--
-- Event ids are random and global, and AckEvents names events by id alone,
-- so id is unique across tenants. seq is the append order that ClaimEvents
-- hands events out in. A row is leased while lease_until is after the
-- claimer's now; NULL means never claimed. Acknowledged events are
-- deleted, so the table holds only what is still undelivered.
CREATE TABLE event_outbox (
    seq         ${SERIAL},
    id          ${KEY} NOT NULL UNIQUE,
    tenant      ${KEY} NOT NULL,
    event_type  TEXT NOT NULL,
    event_time  ${TIMESTAMP} NOT NULL,
    event       TEXT NOT NULL, -- the ports.Event in its JSON wire format
    lease_until ${TIMESTAMP}
);
