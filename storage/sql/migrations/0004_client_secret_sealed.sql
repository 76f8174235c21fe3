-- The client secret sealed with AES-256-GCM by the caller, kept for
-- client_secret_jwt (RFC 7523 §2.2, OIDC Core §9), whose HMAC can only be
-- checked with the secret itself. NULL for every other authentication
-- method and for clients registered before this version.
ALTER TABLE clients ADD COLUMN secret_sealed ${BYTES};
