package client

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"bilat.dev/cmd/bilat/internal/testsrv"
	"bilat.dev/pkg/grpcx"
	bilatv1 "bilat.dev/proto/bilat/v1"
)

func TestMapRejections(t *testing.T) {
	// Items 0..3 came from lines 2, 3, 7, 9 (blank and bad lines were not sent).
	sent := []sentItem{{line: 2, agreement: true}, {line: 3}, {line: 7, agreement: true}, {line: 9}}
	rejs := []*bilatv1.Rejection{
		{Index: 2, Reason: "invalid agreement", FieldErrors: []*bilatv1.FieldError{
			{Field: "agreement.signed_on.month", Description: "must be 1..12"},
			{Field: "agreement.title", Description: "required"},
		}},
		{Index: 0, Reason: "unknown partner"},
		{Index: 1, Reason: "invalid trade figure: trade_figure.flow: required; trade_figure.value: required", FieldErrors: []*bilatv1.FieldError{
			{Field: "trade_figure.flow", Description: "required"},
			{Field: "trade_figure.value", Description: "required"},
		}},
		{Index: 9, Reason: "out of range"},
		{Index: -1, Reason: "negative"},
	}
	got := MapRejections(sent, rejs)
	want := []string{
		"line 7: invalid agreement (agreement.signed_on.month: must be 1..12, agreement.title: required)",
		"line 2: unknown partner",
		"line 3: invalid trade figure (trade_figure.flow: required, trade_figure.value: required)",
		"item 9 (line unknown): out of range",
		"item -1 (line unknown): negative",
	}
	if len(got) != len(want) {
		t.Fatalf("got %d rejections, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].String() != want[i] {
			t.Errorf("rejection %d = %q, want %q", i, got[i].String(), want[i])
		}
	}
}

type countProgress struct{ n int }

func (c *countProgress) Add(n int) error { c.n += n; return nil }

func startServer(t *testing.T, s *testsrv.Server) bilatv1.IngestServiceClient {
	t.Helper()
	addr, stop, err := s.Listen()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	conn, err := Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return bilatv1.NewIngestServiceClient(conn)
}

func opener(c bilatv1.IngestServiceClient) func(context.Context) (ImportStream, error) {
	return func(ctx context.Context) (ImportStream, error) { return c.Import(ctx) }
}

func TestImportMapsLinesOverGRPC(t *testing.T) {
	srv := testsrv.New()
	srv.Validate = func(r *bilatv1.ImportRequest) *bilatv1.Rejection {
		if m := r.GetAgreement().GetSignedOn().GetMonth(); m > 12 {
			return &bilatv1.Rejection{Reason: "invalid agreement", FieldErrors: []*bilatv1.FieldError{{Field: "agreement.signed_on.month", Description: "must be 1..12"}}}
		}
		return nil
	}
	c := startServer(t, srv)
	// The agreement "dup" is already recorded.
	if _, err := c.SubmitAgreement(context.Background(), &bilatv1.SubmitAgreementRequest{Agreement: &bilatv1.Agreement{Id: "dup"}}); err != nil {
		t.Fatal(err)
	}
	file := strings.Join([]string{
		`{"agreement":{"id":"a1"}}`, // 1: item 0
		``,                          // 2: blank
		`{"agreement":{"id":"a2","signedOn":{"month":13}}}`, // 3: item 1, rejected by server
		`{"agreement":{"id":"a3"`,                           // 4: rejected locally
		`{"tradeFigure":{"id":"t1"}}`,                       // 5: item 2
		``,                                                  // 6: blank
		`{"agreement":{"id":"dup"}}`,                        // 7: item 3, duplicate
		`{"tradeFigure":{"id":"t2"},"idempotencyKey":"tk"}`, // 8: item 4
		`{"agreement":{"id":"a4","signedOn":{"month":14}}}`, // 9: item 5, rejected by server
	}, "\n")
	prog := &countProgress{}
	res, err := Import(context.Background(), opener(c), strings.NewReader(file), prog)
	if err != nil {
		t.Fatal(err)
	}
	if res.Accepted != 3 || res.Duplicates != 1 || res.Rejected != 3 || res.Lines != 7 {
		t.Errorf("counts: %+v", res)
	}
	if prog.n != 7 {
		t.Errorf("progress saw %d lines, want 7", prog.n)
	}
	// a1 and dup are agreements that were not rejected.
	if res.Agreements != 2 {
		t.Errorf("Agreements = %d, want 2", res.Agreements)
	}
	var lines []string
	for _, r := range res.Rejections {
		lines = append(lines, r.String())
	}
	got := strings.Join(lines, "\n")
	want := "line 3: invalid agreement (agreement.signed_on.month: must be 1..12)\n" +
		"line 4: not a bilat.v1.ImportRequest: unexpected EOF\n" +
		"line 9: invalid agreement (agreement.signed_on.month: must be 1..12)"
	if got != want {
		t.Errorf("rejections:\n%s\nwant:\n%s", got, want)
	}
	if !res.Rejections[1].Local || res.Rejections[0].Local {
		t.Errorf("Local flags wrong: %+v", res.Rejections)
	}
	// Exactly the six parseable lines were sent (plus the earlier submit).
	if n := len(srv.Requests()); n != 7 {
		t.Errorf("server saw %d requests, want 7", n)
	}
}

// abortStream fails the way a server that ends the stream early does.
type abortStream struct {
	sent  int
	limit int
}

func (s *abortStream) Send(*bilatv1.ImportRequest) error {
	if s.sent == s.limit {
		return io.EOF
	}
	s.sent++
	return nil
}

func (s *abortStream) CloseAndRecv() (*bilatv1.ImportResponse, error) {
	return nil, status.Error(codes.Unavailable, "ingest shutting down")
}

func TestImportServerAborts(t *testing.T) {
	st := &abortStream{limit: 2}
	open := func(context.Context) (ImportStream, error) { return st, nil }
	file := "{\"agreement\":{}}\n\n{\"agreement\":{}}\n{\"agreement\":{}}\n{\"agreement\":{}}\n"
	_, err := Import(context.Background(), open, strings.NewReader(file), nil)
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("want the server's status, got %v", err)
	}
	if !strings.Contains(err.Error(), "line 4 after 2 items sent") {
		t.Errorf("error should say where it stopped: %v", err)
	}
}

func TestImportOpenFails(t *testing.T) {
	open := func(context.Context) (ImportStream, error) { return nil, errors.New("no route") }
	if _, err := Import(context.Background(), open, strings.NewReader(""), nil); err == nil || !strings.Contains(err.Error(), "start import: no route") {
		t.Fatalf("got %v", err)
	}
}

func TestViolationsAndCallError(t *testing.T) {
	err := grpcx.InvalidArgument("invalid agreement",
		grpcx.FieldViolation{Field: "agreement.signed_on.month", Description: "must be 1..12"},
		grpcx.FieldViolation{Field: "agreement.parties", Description: "at least one party"})
	wrapped := fmt.Errorf("submit: %w", err)
	vs := Violations(wrapped)
	if len(vs) != 2 || vs[0] != (FieldViolation{"agreement.signed_on.month", "must be 1..12"}) || vs[1].Field != "agreement.parties" {
		t.Errorf("Violations = %+v", vs)
	}
	if !IsInvalidArgument(wrapped) {
		t.Error("IsInvalidArgument(wrapped) = false")
	}
	if Violations(errors.New("plain")) != nil || Violations(status.Error(codes.Internal, "x")) != nil {
		t.Error("no violations expected")
	}

	ce := &CallError{Service: "gateway", Addr: "127.0.0.1:7100", Flag: "--server", Err: status.Error(codes.Unavailable, "connection error: connection refused")}
	if s := ce.Error(); !strings.Contains(s, "cannot reach 127.0.0.1:7100 (gateway): is `make run` running?") || !strings.Contains(s, "--server") {
		t.Errorf("unavailable text: %s", s)
	}
	if status.Code(ce) != codes.Unavailable {
		t.Errorf("status.Code(CallError) = %v", status.Code(ce))
	}
	ce.Err = status.Error(codes.Internal, "boom")
	if s := ce.Error(); s != "gateway at 127.0.0.1:7100: Internal: boom" {
		t.Errorf("internal text: %s", s)
	}
}

func TestHealth(t *testing.T) {
	srv := testsrv.New()
	addr, stop, err := srv.Listen()
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	conn, err := Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx := context.Background()
	srv.Health.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
	if err := Health(ctx, conn); !errors.Is(err, ErrNotServing) {
		t.Errorf("NOT_SERVING: got %v", err)
	}
	srv.Health.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	if err := Health(ctx, conn); err != nil {
		t.Errorf("SERVING: got %v", err)
	}
}

func TestCallErrorKeepsContext(t *testing.T) {
	inner := status.Error(codes.Unavailable, "connection error: connection refused")
	ce := &CallError{Service: "ingest", Addr: "h:1", Flag: "--ingest", Err: fmt.Errorf("import a.ndjson: start import: %w", inner)}
	want := "import a.ndjson: start import: cannot reach h:1 (ingest): is `make run` running? (or point --ingest at it) (connection error: connection refused)"
	if ce.Error() != want {
		t.Errorf("got  %s\nwant %s", ce.Error(), want)
	}
	ce.Err = errors.New("plain failure")
	if ce.Error() != "plain failure" {
		t.Errorf("plain: %s", ce.Error())
	}
}

func TestDescribe(t *testing.T) {
	bad := grpcx.InvalidArgument("invalid list request",
		grpcx.FieldViolation{Field: "filter.signed_from", Description: "after signed_to"},
		grpcx.FieldViolation{Field: "page_size", Description: "at most 500"})
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"unauthenticated", status.Error(codes.Unauthenticated, "no token"),
			"token missing or invalid: set --token or BILAT_TOKEN (gateway at h:1: no token)"},
		{"permission", status.Error(codes.PermissionDenied, "scope publish required"),
			"permission denied: the token lacks the scope this call needs; ask the operator for one (gateway at h:1: scope publish required)"},
		{"not found", status.Error(codes.NotFound, `agreement "x" not found`), `agreement "x" not found`},
		{"invalid with details", bad, "invalid list request:\n  filter.signed_from: after signed_to\n  page_size: at most 500"},
		{"invalid without details", status.Error(codes.InvalidArgument, "bad page token"), "bad page token"},
		{"rate limited", status.Error(codes.ResourceExhausted, "rate limit exceeded"),
			"rate limit or size limit reached at h:1 (gateway): rate limit exceeded; wait a moment and retry, or ask for less"},
		{"unavailable", status.Error(codes.Unavailable, "connection error: desc = \"transport: dial tcp h:1: connection refused\""),
			"cannot reach h:1 (gateway): is `make run` running? (or point --server at it) (connection error: desc = \"transport: dial tcp h:1: connection refused\")"},
		{"unavailable from the server", status.Error(codes.Unavailable, "gazetteer not configured"),
			"gateway at h:1 is unavailable: gazetteer not configured (try again later, or ask the operator)"},
		{"deadline", status.Error(codes.DeadlineExceeded, "context deadline exceeded"),
			"gateway at h:1 did not answer within 10s: raise --timeout (context deadline exceeded)"},
		{"canceled", status.Error(codes.Canceled, "context canceled"), "interrupted"},
		{"other", status.Error(codes.Internal, "boom"), "gateway at h:1: Internal: boom"},
		{"wrapped keeps context", fmt.Errorf("look up partner %q: %w", "x", status.Error(codes.NotFound, "gone")), `look up partner "x": gone`},
		{"not a status", errors.New("open x: no such file"), "open x: no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ce := &CallError{Service: "gateway", Addr: "h:1", Flag: "--server", Timeout: 10 * time.Second, Err: tt.err}
			if got := ce.Error(); got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

// TestDialTLSAndToken serves TLS with a self-signed certificate and checks
// that Dial trusts it through CAFile and sends the bearer token.
func TestDialTLSAndToken(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "bilat test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	var gotAuth []string
	g := grpc.NewServer(grpc.Creds(credentials.NewServerTLSFromCert(&tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key})),
		grpc.UnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			md, _ := metadata.FromIncomingContext(ctx)
			gotAuth = md.Get("authorization")
			return h(ctx, req)
		}))
	hs := health.NewServer()
	healthpb.RegisterHealthServer(g, hs)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = g.Serve(lis) }()
	defer g.Stop()

	conn, err := Dial(lis.Addr().String(), Options{Token: "tok", CAFile: caFile})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := Health(context.Background(), conn); err != nil {
		t.Fatalf("TLS health: %v", err)
	}
	if len(gotAuth) != 1 || gotAuth[0] != "Bearer tok" {
		t.Errorf("authorization = %q", gotAuth)
	}
	// Plaintext against the TLS server fails; a bad CA file is reported.
	plain, _ := Dial(lis.Addr().String())
	defer plain.Close()
	if err := Health(context.Background(), plain); status.Code(err) != codes.Unavailable {
		t.Errorf("plaintext to TLS: %v", err)
	}
	if _, err := Dial("x:1", Options{CAFile: filepath.Join(t.TempDir(), "none.pem")}); err == nil || !strings.Contains(err.Error(), "--tls-ca") {
		t.Errorf("missing CA file: %v", err)
	}
}
