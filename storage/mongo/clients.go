package mongostore

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"oauth2-server.dev/ports"
)

type clientDoc struct {
	ID                    bson.ObjectID `bson:"_id,omitempty"`
	Tenant                string        `bson:"tenant"`
	ClientID              string        `bson:"id"`
	SecretHash            string        `bson:"secret_hash"`
	RegistrationTokenHash string        `bson:"registration_token_hash"`
	SecretSealed          []byte        `bson:"secret_sealed,omitempty"` // absent, so nil, unless client_secret_jwt
	Name                  string        `bson:"name"`
	RedirectURIs          []string      `bson:"redirect_uris"`
	GrantTypes            []string      `bson:"grant_types"`
	ResponseTypes         []string      `bson:"response_types"`
	Scope                 string        `bson:"scope"`
	TokenEndpointAuth     string        `bson:"token_endpoint_auth"`
	ApplicationType       string        `bson:"application_type"`
	AccessTokenFormat     string        `bson:"access_token_format"`
	// Kept as bytes so that RFC 7592 reads return the metadata exactly as
	// registered.
	Metadata  []byte `bson:"metadata"`
	CreatedAt int64  `bson:"created_at"`
	UpdatedAt int64  `bson:"updated_at"`
}

func toClientDoc(c *ports.Client) *clientDoc {
	return &clientDoc{
		Tenant: c.Tenant, ClientID: c.ID, SecretHash: c.SecretHash,
		RegistrationTokenHash: c.RegistrationTokenHash, SecretSealed: c.SecretSealed,
		Name: c.Name, RedirectURIs: c.RedirectURIs, GrantTypes: c.GrantTypes, ResponseTypes: c.ResponseTypes,
		Scope: c.Scope, TokenEndpointAuth: c.TokenEndpointAuth, ApplicationType: c.ApplicationType,
		AccessTokenFormat: c.AccessTokenFormat, Metadata: c.Metadata,
		CreatedAt: micros(c.CreatedAt), UpdatedAt: micros(c.UpdatedAt),
	}
}

func (d *clientDoc) client() *ports.Client {
	return &ports.Client{
		ID: d.ClientID, Tenant: d.Tenant, SecretHash: d.SecretHash,
		RegistrationTokenHash: d.RegistrationTokenHash, SecretSealed: d.SecretSealed,
		Name: d.Name, RedirectURIs: d.RedirectURIs, GrantTypes: d.GrantTypes, ResponseTypes: d.ResponseTypes,
		Scope: d.Scope, TokenEndpointAuth: d.TokenEndpointAuth, ApplicationType: d.ApplicationType,
		AccessTokenFormat: d.AccessTokenFormat, Metadata: d.Metadata,
		CreatedAt: fromMicros(d.CreatedAt), UpdatedAt: fromMicros(d.UpdatedAt),
	}
}

func byID(tenant, id string) bson.D {
	return bson.D{{Key: "tenant", Value: tenant}, {Key: "id", Value: id}}
}

// CreateClient stores a new client. ErrConflict if the id is taken in the
// tenant.
func (s *Store) CreateClient(ctx context.Context, c *ports.Client, evs ...ports.Event) error {
	return s.withEvents(ctx, "create client", evs, func() error { return s.createClient(ctx, c) })
}

func (s *Store) createClient(ctx context.Context, c *ports.Client) error {
	_, err := s.clients.InsertOne(ctx, toClientDoc(c))
	return translate("create client", err)
}

// GetClient returns the client. ErrNotFound if absent.
func (s *Store) GetClient(ctx context.Context, tenant, id string) (*ports.Client, error) {
	var d clientDoc
	if err := s.clients.FindOne(ctx, byID(tenant, id)).Decode(&d); err != nil {
		return nil, translate("get client", err)
	}
	return d.client(), nil
}

// UpdateClient replaces every field of an existing client. ErrNotFound if
// absent.
func (s *Store) UpdateClient(ctx context.Context, c *ports.Client, evs ...ports.Event) error {
	return s.withEvents(ctx, "update client", evs, func() error { return s.updateClient(ctx, c) })
}

func (s *Store) updateClient(ctx context.Context, c *ports.Client) error {
	res, err := s.clients.ReplaceOne(ctx, byID(c.Tenant, c.ID), toClientDoc(c))
	if err != nil {
		return translate("update client", err)
	}
	if res.MatchedCount == 0 {
		return notFound("update client", "no such client")
	}
	return nil
}

// DeleteClient removes the client. ErrNotFound if absent.
func (s *Store) DeleteClient(ctx context.Context, tenant, id string, evs ...ports.Event) error {
	return s.withEvents(ctx, "delete client", evs, func() error { return s.deleteClient(ctx, tenant, id) })
}

func (s *Store) deleteClient(ctx context.Context, tenant, id string) error {
	res, err := s.clients.DeleteOne(ctx, byID(tenant, id))
	if err != nil {
		return translate("delete client", err)
	}
	if res.DeletedCount == 0 {
		return notFound("delete client", "no such client")
	}
	return nil
}

// ListClients returns the tenant's clients ordered by id, byte by byte,
// the part of them page selects.
func (s *Store) ListClients(ctx context.Context, tenant string, page ports.Page) ([]*ports.Client, error) {
	filter, opts := paged(tenant, "id", page)
	cur, err := s.clients.Find(ctx, filter, opts)
	if err != nil {
		return nil, translate("list clients", err)
	}
	var docs []clientDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, translate("list clients", err)
	}
	clients := make([]*ports.Client, len(docs))
	for i := range docs {
		clients[i] = docs[i].client()
	}
	return clients, nil
}

// paged is the filter and options of a list of the tenant's documents
// ordered by key, the part of them page selects. Without a collation,
// which the store's collections are created without, strings compare
// byte by byte, as in the SQL stores.
func paged(tenant, key string, page ports.Page) (bson.D, *options.FindOptionsBuilder) {
	filter := bson.D{{Key: "tenant", Value: tenant}}
	if page.After != "" {
		filter = append(filter, bson.E{Key: key, Value: bson.D{{Key: "$gt", Value: page.After}}})
	}
	opts := options.Find().SetSort(bson.D{{Key: key, Value: 1}})
	if page.Limit > 0 {
		opts.SetLimit(int64(page.Limit))
	}
	return filter, opts
}
