-- Sender-constrained tokens and rich authorization requests: a token
-- bound to a DPoP key (RFC 9449, cnf.jkt) or to a client certificate
-- (RFC 8705, cnf.x5t#S256), and the RFC 9396 authorization_details granted
-- with it (a JSON array). An authorization code keeps the details the user
-- approved and the dpop_jkt of its request. Rows written before this
-- version read back unbound and without details.
ALTER TABLE tokens ADD COLUMN cnf_jkt TEXT NOT NULL DEFAULT '';
ALTER TABLE tokens ADD COLUMN cnf_x5t TEXT NOT NULL DEFAULT '';
ALTER TABLE tokens ADD COLUMN authorization_details TEXT NOT NULL DEFAULT '';
ALTER TABLE auth_codes ADD COLUMN authorization_details TEXT NOT NULL DEFAULT '';
ALTER TABLE auth_codes ADD COLUMN dpop_jkt TEXT NOT NULL DEFAULT '';
