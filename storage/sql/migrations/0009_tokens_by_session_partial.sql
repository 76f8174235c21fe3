-- Tokens issued outside a sign-in (client_credentials, token exchange,
-- JWT bearer) carry no session, and logout never looks them up by it:
-- leaving them out of the session index spares every such token one
-- index entry. SessionClients names session_id <> '' so that the planner
-- may use the partial index.
DROP INDEX tokens_session_idx;
CREATE INDEX tokens_session_idx ON tokens (tenant, session_id) WHERE session_id <> '';
