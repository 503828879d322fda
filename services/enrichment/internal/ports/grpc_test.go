package ports_test

import (
	"context"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"bilat.dev/pkg/grpcx"
	"bilat.dev/pkg/testenv"
	bilatv1 "bilat.dev/proto/bilat/v1"
	"bilat.dev/services/enrichment/internal/app"
	"bilat.dev/services/enrichment/internal/ports"
)

// gazetteerClient serves GazetteerService on a loopback port through the
// service's real gRPC server and returns a client of it.
func gazetteerClient(t *testing.T) bilatv1.GazetteerServiceClient {
	t.Helper()
	srv := grpcx.NewServer(testenv.Logger(t))
	bilatv1.RegisterGazetteerServiceServer(srv.GRPC(), ports.NewGazetteerServer(app.NewGazetteer(loadGazetteer(t))))
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.ServeListener(ctx, lis) }()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return bilatv1.NewGazetteerServiceClient(conn)
}

func TestResolveEntityRPC(t *testing.T) {
	c := gazetteerClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	for _, tc := range []struct {
		name, code, alias string
		res               bilatv1.Resolution
	}{
		{"Stavropol Territory", "RU-STA", "Stavropol Territory", bilatv1.Resolution_RESOLUTION_RESOLVED},
		{"ставропольский  КРАЙ", "RU-STA", "Ставропольский край", bilatv1.Resolution_RESOLUTION_RESOLVED},
		{"Islamic Republic of Afghanistan", "AF", "Islamic Republic of Afghanistan", bilatv1.Resolution_RESOLUTION_RESOLVED},
		{"Stavropol", "", "", bilatv1.Resolution_RESOLUTION_AMBIGUOUS},
		{"Mordor", "", "", bilatv1.Resolution_RESOLUTION_UNRESOLVED},
	} {
		resp, err := c.ResolveEntity(ctx, &bilatv1.ResolveEntityRequest{Name: tc.name})
		if err != nil {
			t.Fatalf("ResolveEntity(%q): %v", tc.name, err)
		}
		if resp.Resolution != tc.res || resp.GetEntity().GetCode() != tc.code || resp.MatchedAlias != tc.alias {
			t.Errorf("ResolveEntity(%q) = %v", tc.name, resp)
		}
	}

	_, err := c.ResolveEntity(ctx, &bilatv1.ResolveEntityRequest{Name: "  "})
	if status.Code(err) != codes.InvalidArgument {
		t.Fatalf("empty name: %v, want InvalidArgument", err)
	}
	if v := grpcx.FieldViolations(err); len(v) != 1 || v[0].Field != "name" {
		t.Errorf("violations = %v", v)
	}
}

func TestGetEntityRPC(t *testing.T) {
	c := gazetteerClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	resp, err := c.GetEntity(ctx, &bilatv1.GetEntityRequest{Code: "RU-STA"})
	if err != nil {
		t.Fatal(err)
	}
	if e := resp.Entity; e.Name != "Stavropol Krai" || e.Kind != bilatv1.EntityKind_ENTITY_KIND_REGION || e.Country != "RU" || len(e.Aliases) < 5 {
		t.Errorf("entity = %v", e)
	}
	resp, err = c.GetEntity(ctx, &bilatv1.GetEntityRequest{Code: "BY"})
	if err != nil || len(resp.Entity.Memberships) == 0 {
		t.Errorf("BY = %v, %v; want its bloc memberships", resp, err)
	}
	if _, err := c.GetEntity(ctx, &bilatv1.GetEntityRequest{Code: "XX"}); status.Code(err) != codes.NotFound {
		t.Errorf("unknown code: %v, want NotFound", err)
	}
	_, err = c.GetEntity(ctx, &bilatv1.GetEntityRequest{})
	if status.Code(err) != codes.InvalidArgument {
		t.Fatalf("empty code: %v, want InvalidArgument", err)
	}
	if v := grpcx.FieldViolations(err); len(v) != 1 || v[0].Field != "code" {
		t.Errorf("violations = %v", v)
	}
}
