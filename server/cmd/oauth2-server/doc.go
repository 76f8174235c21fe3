// Command oauth2-server runs the authorization server and its operator
// tools. Every sub-command reads the same configuration: an optional YAML
// file (--config or OAUTH2_CONFIG), OAUTH2_* environment variables, and
// --dev.
//
//	oauth2-server serve [--dev] [--config FILE]
//	oauth2-server migrate [up|status] [--dev] [--config FILE]
//	oauth2-server keys list [--dev] [--config FILE]
//	oauth2-server clients list [--dev] [--config FILE]
package main
