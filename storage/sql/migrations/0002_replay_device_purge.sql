-- Single-use JWT ids, device authorization requests, and the index logout
-- needs. Same conventions as 0001: tenant first in every key, no foreign
-- keys, column types substituted per dialect.

-- A jti row lives until its expiry and is then replaced in place by the
-- next use of the same key (see UseJTI), so the primary key alone decides
-- which of several concurrent uses wins.
CREATE TABLE jtis (
    tenant     ${KEY} NOT NULL,
    jti_key    ${KEY} NOT NULL,
    expires_at ${TIMESTAMP} NOT NULL,
    PRIMARY KEY (tenant, jti_key)
);
CREATE INDEX jtis_expires_at_idx ON jtis (expires_at);

-- RFC 8628 §3.2: the device_code (kept as its SHA-256) and the user_code
-- both name the request, so both are unique within a tenant.
CREATE TABLE device_codes (
    tenant           ${KEY} NOT NULL,
    hash             ${KEY} NOT NULL,
    user_code        ${KEY} NOT NULL,
    client_id        ${KEY} NOT NULL,
    scope            TEXT NOT NULL,
    status           TEXT NOT NULL,
    user_id          ${KEY} NOT NULL,
    session_id       ${KEY} NOT NULL,
    auth_time        ${TIMESTAMP},
    poll_interval_ns BIGINT NOT NULL,
    last_polled_at   ${TIMESTAMP},
    created_at       ${TIMESTAMP} NOT NULL,
    expires_at       ${TIMESTAMP} NOT NULL,
    used_at          ${TIMESTAMP},
    PRIMARY KEY (tenant, hash),
    UNIQUE (tenant, user_code)
);
CREATE INDEX device_codes_expires_at_idx ON device_codes (expires_at);

-- Logout looks up the clients that hold tokens of a login session.
CREATE INDEX tokens_session_idx ON tokens (tenant, session_id);
