-- Client-initiated backchannel authentication requests (OpenID Connect
-- CIBA Core 1.0). Same conventions as 0001: tenant first in every key, no
-- foreign keys, column types substituted per dialect.
--
-- CIBA §7.3: the auth_req_id (kept as its SHA-256) names the request for
-- the client; the decision id (kept as its SHA-256) names it for the
-- person's authentication device. Both are unique within a tenant. ping
-- holds the sealed auth_req_id and client_notification_token of ping-mode
-- requests, NULL in poll mode.
CREATE TABLE ciba_requests (
    tenant           ${KEY} NOT NULL,
    hash             ${KEY} NOT NULL,
    decision_hash    ${KEY} NOT NULL,
    client_id        ${KEY} NOT NULL,
    user_id          ${KEY} NOT NULL,
    scope            TEXT NOT NULL,
    binding_message  TEXT NOT NULL,
    delivery_mode    TEXT NOT NULL,
    ping             ${BYTES},
    status           TEXT NOT NULL,
    session_id       ${KEY} NOT NULL,
    auth_time        ${TIMESTAMP},
    poll_interval_ns BIGINT NOT NULL,
    last_polled_at   ${TIMESTAMP},
    created_at       ${TIMESTAMP} NOT NULL,
    expires_at       ${TIMESTAMP} NOT NULL,
    used_at          ${TIMESTAMP},
    PRIMARY KEY (tenant, hash),
    UNIQUE (tenant, decision_hash)
);
CREATE INDEX ciba_requests_expires_at_idx ON ciba_requests (expires_at);
