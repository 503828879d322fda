package auth

import "context"

type clientKey struct{}

// identity is mutable so that an interceptor running outside the guard (the
// server's logging one) can see who called once the guard has decided.
type identity struct{ name string }

// WithSlot returns ctx with an empty identity that a later WithClient on a
// derived context fills in; the logging interceptor calls it before the
// guard runs so its log line can name the client.
func WithSlot(ctx context.Context) context.Context {
	return context.WithValue(ctx, clientKey{}, &identity{})
}

// WithClient records the authenticated client's name in ctx.
func WithClient(ctx context.Context, name string) context.Context {
	if id, ok := ctx.Value(clientKey{}).(*identity); ok && id.name == "" {
		id.name = name
		return ctx
	}
	return context.WithValue(ctx, clientKey{}, &identity{name: name})
}

// ClientFromContext returns the authenticated client's name, if any.
func ClientFromContext(ctx context.Context) (string, bool) {
	id, ok := ctx.Value(clientKey{}).(*identity)
	if !ok || id.name == "" {
		return "", false
	}
	return id.name, true
}
