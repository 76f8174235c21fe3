-- RFC 7592 §2.3: deleting a client registration revokes every token
-- issued to the client, which finds them by client id.
CREATE INDEX tokens_client_idx ON tokens (tenant, client_id);
