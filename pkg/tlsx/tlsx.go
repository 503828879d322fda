// Package tlsx builds the TLS configurations of Bilat's listeners and
// clients from PEM files. Empty paths mean plaintext: every function then
// returns a nil *tls.Config.
package tlsx

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"
)

// Server returns the configuration of a listener serving the certificate
// chain in certFile with the key in keyFile, or nil when both are empty.
// The pair is re-read when either file changes, so a rotated certificate
// (cert-manager, a renewed secret) is picked up without a restart.
func Server(certFile, keyFile string) (*tls.Config, error) {
	if certFile == "" && keyFile == "" {
		return nil, nil
	}
	if certFile == "" || keyFile == "" {
		return nil, errors.New("tls: --tls-cert and --tls-key go together")
	}
	kp := &keyPair{cert: certFile, key: keyFile}
	if _, err := kp.get(); err != nil {
		return nil, err
	}
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return kp.get()
		},
	}, nil
}

// Client returns the configuration of a client trusting the CA
// certificates in caFile, or nil when caFile is empty.
func Client(caFile string) (*tls.Config, error) {
	if caFile == "" {
		return nil, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("tls ca: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("tls ca %s: no PEM certificate found", caFile)
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool}, nil
}

type keyPair struct {
	cert, key string

	mu      sync.Mutex
	loaded  *tls.Certificate
	modCert time.Time
	modKey  time.Time
}

func (k *keyPair) get() (*tls.Certificate, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	mc, errc := modTime(k.cert)
	mk, errk := modTime(k.key)
	if k.loaded != nil && (errc != nil || errk != nil || (mc.Equal(k.modCert) && mk.Equal(k.modKey))) {
		// Unchanged, or mid-rotation: keep serving the pair we have.
		return k.loaded, nil
	}
	c, err := tls.LoadX509KeyPair(k.cert, k.key)
	if err != nil {
		if k.loaded != nil {
			// A half-written rotation: the old pair stays until both files agree.
			return k.loaded, nil
		}
		return nil, fmt.Errorf("tls key pair %s, %s: %w", k.cert, k.key, err)
	}
	k.loaded, k.modCert, k.modKey = &c, mc, mk
	return k.loaded, nil
}

func modTime(path string) (time.Time, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return time.Time{}, err
	}
	return fi.ModTime(), nil
}

// SelfClient returns the configuration of a client of this process's own
// TLS listener over loopback (the gateway's HTTP/JSON proxy dials its gRPC
// port): it accepts exactly the certificate server presents now, whatever
// names it carries and whether or not a CA is configured, so it keeps
// working across certificate rotation. It returns nil when server is nil.
func SelfClient(server *tls.Config) *tls.Config {
	if server == nil {
		return nil
	}
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		// Verification is VerifyConnection's pin on our own certificate, not
		// the usual chain-and-name check.
		InsecureSkipVerify: true, //nolint:gosec // pinned below
		VerifyConnection: func(cs tls.ConnectionState) error {
			own, err := server.GetCertificate(&tls.ClientHelloInfo{ServerName: cs.ServerName})
			if err != nil {
				return fmt.Errorf("tls self client: %w", err)
			}
			if len(cs.PeerCertificates) == 0 || len(own.Certificate) == 0 ||
				!bytes.Equal(cs.PeerCertificates[0].Raw, own.Certificate[0]) {
				return errors.New("tls self client: peer is not this process's listener")
			}
			return nil
		},
	}
}
