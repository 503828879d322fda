package grpcx_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	testpb "google.golang.org/grpc/interop/grpc_testing"

	"bilat.dev/pkg/grpcx"
	"bilat.dev/pkg/ops"
	"bilat.dev/pkg/testenv"
	"bilat.dev/pkg/tlsx"
)

// testCA writes a fresh CA and a server certificate for 127.0.0.1 it
// signed into dir; it returns the CA, certificate and key paths.
func testCA(t *testing.T, dir, name string) (caFile, certFile, keyFile string) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name + " test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "bilat test server"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:     []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	write := func(file, typ string, b []byte) string {
		p := filepath.Join(dir, name+"-"+file)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	return write("ca.pem", "CERTIFICATE", caDER), write("cert.pem", "CERTIFICATE", der), write("key.pem", "EC PRIVATE KEY", keyDER)
}

func TestTLS(t *testing.T) {
	dir := t.TempDir()
	caFile, certFile, keyFile := testCA(t, dir, "good")
	otherCA, _, _ := testCA(t, dir, "other")
	serverTLS, err := tlsx.Server(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	edge := grpcx.Edge{TLS: serverTLS}
	addr := serve(t, edge, &testService{})
	call := func(opts grpcx.ClientOptions) error {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		_, err := testpb.NewTestServiceClient(dial(t, addr, opts)).UnaryCall(ctx, &testpb.SimpleRequest{})
		return err
	}

	wantCode(t, "plaintext client", call(grpcx.ClientOptions{}), codes.Unavailable)
	wrong, err := tlsx.Client(otherCA)
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, "client trusting another CA", call(grpcx.ClientOptions{TLS: wrong}), codes.Unavailable)
	right, err := tlsx.Client(caFile)
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, "client trusting the CA", call(grpcx.ClientOptions{TLS: right}), codes.OK)
	wantCode(t, "self client", call(grpcx.SelfClientOptions(edge)), codes.OK)

	// The ops endpoint serves the same certificate.
	opsAddr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ops.ServeTLS(ctx, opsAddr, serverTLS, testenv.Logger(t)) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	get := func(c *http.Client, scheme string) (string, error) {
		resp, err := c.Get(scheme + "://" + opsAddr + "/healthz")
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return string(b), err
	}
	trusting := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: right}}
	var body string
	testenv.Eventually(t, 10*time.Second, "ops over tls", func() bool {
		body, err = get(trusting, "https")
		return err == nil
	})
	if body != "ok\n" {
		t.Fatalf("healthz %q", body)
	}
	untrusting := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS12}}}
	if _, err := get(untrusting, "https"); err == nil {
		t.Fatal("ops accepted a client that does not trust its CA")
	}
	if body, err := get(&http.Client{Timeout: 10 * time.Second}, "http"); err == nil && body == "ok\n" {
		t.Fatal("ops answered plaintext HTTP with TLS on")
	}
}

func TestTLSConfigErrors(t *testing.T) {
	if c, err := tlsx.Server("", ""); c != nil || err != nil {
		t.Fatalf("no files: %v %v", c, err)
	}
	if _, err := tlsx.Server("cert.pem", ""); err == nil {
		t.Fatal("cert without key accepted")
	}
	if _, err := tlsx.Server(filepath.Join(t.TempDir(), "missing.pem"), "missing-key.pem"); err == nil {
		t.Fatal("missing files accepted")
	}
	if c, err := tlsx.Client(""); c != nil || err != nil {
		t.Fatalf("no CA: %v %v", c, err)
	}
	bad := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(bad, []byte("not pem"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := tlsx.Client(bad); err == nil {
		t.Fatal("CA file without certificates accepted")
	}
}
