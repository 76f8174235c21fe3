package app

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"sync/atomic"

	"oauth2-server.dev/config"
)

// tlsFiles are the operator's TLS files: the server's certificate and
// key, when the server serves HTTPS itself, and the CAs that
// tls_client_auth certificates chain to. Both can be read again while
// the server runs.
type tlsFiles struct {
	certFile, keyFile, caFile string
	// cert is the server certificate handshakes present; nil without TLS.
	cert atomic.Pointer[tls.Certificate]
	// clientCAs is nil without a CA file.
	clientCAs *x509.CertPool
}

// loadTLSFiles reads the files cfg names, refusing what cannot serve.
func loadTLSFiles(cfg *config.Config) (*tlsFiles, error) {
	t := &tlsFiles{certFile: cfg.TLS.CertFile, keyFile: cfg.TLS.KeyFile, caFile: cfg.TLS.ClientCAFile}
	if t.certFile != "" {
		cert, err := loadServerCert(t.certFile, t.keyFile)
		if err != nil {
			return nil, err
		}
		t.cert.Store(cert)
	}
	if t.caFile != "" {
		pool, err := loadCAs(t.caFile)
		if err != nil {
			return nil, err
		}
		t.clientCAs = pool
	}
	return t, nil
}

func loadServerCert(certFile, keyFile string) (*tls.Certificate, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("OAUTH2_TLS_CERT_FILE %s and OAUTH2_TLS_KEY_FILE %s: %w", certFile, keyFile, err)
	}
	return &cert, nil
}

// loadCAs reads a PEM file of CA certificates. Every block must be a
// certificate that parses: a file that is silently half used would turn
// clients away without saying why.
func loadCAs(file string) (*x509.CertPool, error) {
	b, err := os.ReadFile(file) // #nosec G304 -- the operator's OAUTH2_TLS_CLIENT_CA_FILE
	if err != nil {
		return nil, fmt.Errorf("OAUTH2_TLS_CLIENT_CA_FILE: %w", err)
	}
	pool := x509.NewCertPool()
	n := 0
	for {
		var block *pem.Block
		block, b = pem.Decode(b)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("OAUTH2_TLS_CLIENT_CA_FILE %s: a %s block where CA certificates were expected", file, block.Type)
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("OAUTH2_TLS_CLIENT_CA_FILE %s: certificate %d: %w", file, n+1, err)
		}
		pool.AddCert(c)
		n++
	}
	if n == 0 {
		return nil, fmt.Errorf("OAUTH2_TLS_CLIENT_CA_FILE %s holds no PEM certificates", file)
	}
	return pool, nil
}

// serverConfig is the TLS configuration of the listener. It asks for a
// client certificate when requestClientCerts is set, but verifies none
// (tls.RequestClientCert): self-signed certificates must get through to
// be matched against a client's registered keys, and a CA-issued one is
// checked, with a protocol error a client can read, by the OAuth layer.
// Nor does it name acceptable CAs in its request: clients such as Go's
// would then withhold a self-signed certificate.
func (t *tlsFiles) serverConfig(requestClientCerts bool) *tls.Config {
	c := &tls.Config{
		MinVersion: tls.VersionTLS12,
		// TLS 1.2 suites with forward secrecy and AEAD only; TLS 1.3
		// suites are not configurable and all sound.
		CipherSuites: []uint16{
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
		},
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return t.cert.Load(), nil },
	}
	if requestClientCerts {
		c.ClientAuth = tls.RequestClientCert
	}
	return c
}

// serves reports whether the server serves TLS itself.
func (t *tlsFiles) serves() bool { return t.cert.Load() != nil }

// reload reads the files again. A file that no longer loads leaves the
// one in use in place and is reported; the CAs read are returned, nil
// without a CA file.
func (t *tlsFiles) reload() (*x509.CertPool, error) {
	var errs []error
	if t.certFile != "" {
		if cert, err := loadServerCert(t.certFile, t.keyFile); err != nil {
			errs = append(errs, err)
		} else {
			t.cert.Store(cert)
		}
	}
	var pool *x509.CertPool
	if t.caFile != "" {
		var err error
		if pool, err = loadCAs(t.caFile); err != nil {
			errs = append(errs, err)
		}
	}
	return pool, errors.Join(errs...)
}

// ReloadTLS reads the TLS certificate and key and the client CA file
// again (on SIGHUP): new handshakes present the new certificate, and new
// tls_client_auth checks use the new CAs. Files that fail to load leave
// the ones in use in place, and the error says which.
func (a *App) ReloadTLS() error {
	if a.tls == nil {
		return nil
	}
	pool, err := a.tls.reload()
	if pool != nil {
		a.Provider.SetClientCAs(pool)
	}
	return err
}

// HasTLSFiles reports whether there are TLS files for ReloadTLS to read.
func (a *App) HasTLSFiles() bool {
	return a.tls != nil && (a.tls.certFile != "" || a.tls.caFile != "")
}
