package ports

// DefaultTenant is the tenant that serves the root issuer. Every stored
// entity carries a tenant id so that multi-tenancy needs no migration.
const DefaultTenant = "default"
