-- Initial schema. Column types written as ${KEY}, ${TIMESTAMP} and ${BYTES}
-- are replaced per dialect before the file runs (see dialect.go); everything
-- else is SQL that SQLite and PostgreSQL both accept as written.
--
-- Every table is keyed by tenant first, so that a tenant's rows never
-- collide with another's and every lookup is an index prefix scan.
-- There are no foreign keys between tables: expired codes, tokens and
-- sessions are removed independently of the clients and users they name.

CREATE TABLE clients (
    tenant                  ${KEY} NOT NULL,
    id                      ${KEY} NOT NULL,
    secret_hash             TEXT NOT NULL,
    registration_token_hash TEXT NOT NULL,
    name                    TEXT NOT NULL,
    redirect_uris           TEXT NOT NULL, -- JSON array of strings
    grant_types             TEXT NOT NULL, -- JSON array of strings
    response_types          TEXT NOT NULL, -- JSON array of strings
    scope                   TEXT NOT NULL,
    token_endpoint_auth     TEXT NOT NULL,
    application_type        TEXT NOT NULL,
    access_token_format     TEXT NOT NULL,
    -- Kept as bytes rather than JSON/JSONB so that RFC 7592 reads return
    -- the metadata exactly as registered.
    metadata                ${BYTES} NOT NULL,
    created_at              ${TIMESTAMP} NOT NULL,
    updated_at              ${TIMESTAMP} NOT NULL,
    PRIMARY KEY (tenant, id)
);

CREATE TABLE users (
    tenant         ${KEY} NOT NULL,
    id             ${KEY} NOT NULL,
    username       ${KEY} NOT NULL,
    password_hash  TEXT NOT NULL,
    name           TEXT NOT NULL,
    given_name     TEXT NOT NULL,
    family_name    TEXT NOT NULL,
    email          TEXT NOT NULL,
    email_verified BOOLEAN NOT NULL,
    created_at     ${TIMESTAMP} NOT NULL,
    PRIMARY KEY (tenant, id),
    UNIQUE (tenant, username)
);

CREATE TABLE auth_requests (
    tenant     ${KEY} NOT NULL,
    id         ${KEY} NOT NULL,
    client_id  ${KEY} NOT NULL,
    params     TEXT NOT NULL,
    created_at ${TIMESTAMP} NOT NULL,
    expires_at ${TIMESTAMP} NOT NULL,
    PRIMARY KEY (tenant, id)
);
CREATE INDEX auth_requests_expires_at_idx ON auth_requests (expires_at);

CREATE TABLE auth_codes (
    tenant                ${KEY} NOT NULL,
    hash                  ${KEY} NOT NULL,
    grant_id              ${KEY} NOT NULL,
    client_id             ${KEY} NOT NULL,
    user_id               ${KEY} NOT NULL,
    session_id            ${KEY} NOT NULL,
    redirect_uri          TEXT NOT NULL,
    scope                 TEXT NOT NULL,
    nonce                 TEXT NOT NULL,
    code_challenge        TEXT NOT NULL,
    code_challenge_method TEXT NOT NULL,
    auth_time             ${TIMESTAMP} NOT NULL,
    created_at            ${TIMESTAMP} NOT NULL,
    expires_at            ${TIMESTAMP} NOT NULL,
    used_at               ${TIMESTAMP},
    PRIMARY KEY (tenant, hash)
);
CREATE INDEX auth_codes_expires_at_idx ON auth_codes (expires_at);

CREATE TABLE tokens (
    tenant     ${KEY} NOT NULL,
    id         ${KEY} NOT NULL,
    kind       TEXT NOT NULL,
    grant_id   ${KEY} NOT NULL,
    client_id  ${KEY} NOT NULL,
    subject    TEXT NOT NULL,
    scope      TEXT NOT NULL,
    audience   TEXT NOT NULL,
    session_id ${KEY} NOT NULL,
    auth_time  ${TIMESTAMP},
    parent_id  ${KEY} NOT NULL,
    issued_at  ${TIMESTAMP} NOT NULL,
    expires_at ${TIMESTAMP} NOT NULL,
    used_at    ${TIMESTAMP},
    revoked_at ${TIMESTAMP},
    PRIMARY KEY (tenant, id)
);
-- Replay detection and logout revoke a grant as a whole.
CREATE INDEX tokens_grant_idx ON tokens (tenant, grant_id);
CREATE INDEX tokens_expires_at_idx ON tokens (expires_at);

CREATE TABLE sessions (
    tenant     ${KEY} NOT NULL,
    id         ${KEY} NOT NULL,
    user_id    ${KEY} NOT NULL,
    auth_time  ${TIMESTAMP} NOT NULL,
    created_at ${TIMESTAMP} NOT NULL,
    expires_at ${TIMESTAMP} NOT NULL,
    PRIMARY KEY (tenant, id)
);
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);

CREATE TABLE consents (
    tenant     ${KEY} NOT NULL,
    user_id    ${KEY} NOT NULL,
    client_id  ${KEY} NOT NULL,
    scope      TEXT NOT NULL,
    granted_at ${TIMESTAMP} NOT NULL,
    PRIMARY KEY (tenant, user_id, client_id)
);

CREATE TABLE signing_keys (
    tenant      ${KEY} NOT NULL,
    id          ${KEY} NOT NULL,
    algorithm   TEXT NOT NULL,
    private_key ${BYTES} NOT NULL, -- sealed with AES-256-GCM by the caller
    public_jwk  ${BYTES} NOT NULL,
    created_at  ${TIMESTAMP} NOT NULL,
    not_before  ${TIMESTAMP} NOT NULL,
    retired_at  ${TIMESTAMP},
    expires_at  ${TIMESTAMP},
    PRIMARY KEY (tenant, id)
);
CREATE INDEX signing_keys_expires_at_idx ON signing_keys (expires_at);
