-- RFC 8707 resource indicators of the authorization request, kept with the
-- code so that the tokens it buys can be restricted to them. A JSON array
-- of strings like the other list columns; codes issued before this version
-- read back with none.
ALTER TABLE auth_codes ADD COLUMN resources TEXT NOT NULL DEFAULT '[]';
