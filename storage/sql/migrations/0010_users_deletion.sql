-- Deleting a user revokes every token issued for the user, whatever the
-- grant, and ends the user's sessions: both are found by the user.
CREATE INDEX tokens_subject_idx ON tokens (tenant, subject);
CREATE INDEX sessions_user_idx ON sessions (tenant, user_id);
