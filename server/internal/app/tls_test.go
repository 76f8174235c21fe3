package app

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"oauth2-server.dev/config"
)

// writeKeyPair writes a self-signed certificate for 127.0.0.1 and its
// key as PEM files, and returns the certificate.
func writeKeyPair(t *testing.T, certFile, keyFile, cn string) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	write(t, certFile, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	if keyFile != "" {
		write(t, keyFile, string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})))
	}
	c, _ := x509.ParseCertificate(der)
	return c
}

func write(t *testing.T, file, content string) {
	t.Helper()
	if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestLoadTLSFiles(t *testing.T) {
	dir := t.TempDir()
	cert, key, ca := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key"), filepath.Join(dir, "ca.pem")
	writeKeyPair(t, cert, key, "server")
	writeKeyPair(t, ca, "", "client CA")
	otherKey := filepath.Join(dir, "other.key")
	writeKeyPair(t, filepath.Join(dir, "other.crt"), otherKey, "other")
	keyAsCA := filepath.Join(dir, "key-as-ca.pem")
	b, _ := os.ReadFile(key)
	write(t, keyAsCA, string(b))
	empty := filepath.Join(dir, "empty.pem")
	write(t, empty, "no PEM here\n")
	broken := filepath.Join(dir, "broken.pem")
	write(t, broken, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1, 2, 3}})))

	tests := []struct {
		name    string
		cfg     config.Config
		wantErr string
	}{
		{name: "a certificate, its key and a CA file", cfg: config.Config{TLS: config.TLS{CertFile: cert, KeyFile: key, ClientCAFile: ca}}},
		{name: "a CA file alone, for a proxy's certificates", cfg: config.Config{TLS: config.TLS{ClientCAFile: ca}}},
		{name: "a missing certificate file", cfg: config.Config{TLS: config.TLS{CertFile: filepath.Join(dir, "missing.crt"), KeyFile: key}}, wantErr: "OAUTH2_TLS_CERT_FILE"},
		{name: "a key that is not the certificate's", cfg: config.Config{TLS: config.TLS{CertFile: cert, KeyFile: otherKey}}, wantErr: "OAUTH2_TLS_KEY_FILE"},
		{name: "a missing CA file", cfg: config.Config{TLS: config.TLS{ClientCAFile: filepath.Join(dir, "missing.pem")}}, wantErr: "OAUTH2_TLS_CLIENT_CA_FILE"},
		{name: "a CA file holding a key", cfg: config.Config{TLS: config.TLS{ClientCAFile: keyAsCA}}, wantErr: "PRIVATE KEY block"},
		{name: "a CA file without PEM", cfg: config.Config{TLS: config.TLS{ClientCAFile: empty}}, wantErr: "holds no PEM certificates"},
		{name: "a CA file with a broken certificate", cfg: config.Config{TLS: config.TLS{ClientCAFile: broken}}, wantErr: "certificate 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files, err := loadTLSFiles(&tt.cfg)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("loadTLSFiles = %v, want an error mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if files.serves() != (tt.cfg.TLS.CertFile != "") || (files.clientCAs != nil) != (tt.cfg.TLS.ClientCAFile != "") {
				t.Fatalf("serves %v, CAs %v", files.serves(), files.clientCAs != nil)
			}
		})
	}
}

// handshake connects to ln as a TLS client and returns the server
// certificate it saw; clientCert, when set, is offered to the server.
func handshake(t *testing.T, addr string, roots *x509.CertPool, maxVersion uint16, clientCert *tls.Certificate) (*x509.Certificate, error) {
	t.Helper()
	cfg := &tls.Config{RootCAs: roots, MaxVersion: maxVersion}
	if clientCert != nil {
		cfg.Certificates = []tls.Certificate{*clientCert}
	}
	conn, err := tls.Dial("tcp", addr, cfg)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	// The server's verdict on the client certificate comes with its
	// first flight after the handshake; reading makes it arrive.
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Read(make([]byte, 1)); err != nil && !strings.Contains(err.Error(), "EOF") {
		return nil, err
	}
	return conn.ConnectionState().PeerCertificates[0], nil
}

func TestTLSListener(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	first := writeKeyPair(t, certFile, keyFile, "first")
	files, err := loadTLSFiles(&config.Config{TLS: config.TLS{CertFile: certFile, KeyFile: keyFile}})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", files.serverConfig(true))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	// The server writes one byte once the handshake is over, naming
	// whether the client sent a certificate.
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				defer c.Close()
				tc := c.(*tls.Conn)
				if tc.Handshake() != nil {
					return
				}
				seen := byte('0' + len(tc.ConnectionState().PeerCertificates))
				_, _ = c.Write([]byte{seen})
			}(c)
		}
	}()
	addr := ln.Addr().String()
	roots := x509.NewCertPool()
	roots.AddCert(first)

	t.Run("TLS 1.2 and 1.3 clients connect", func(t *testing.T) {
		for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
			if _, err := handshake(t, addr, roots, v, nil); err != nil {
				t.Fatalf("version %x: %v", v, err)
			}
		}
	})
	t.Run("a TLS 1.1 client is refused", func(t *testing.T) {
		if _, err := handshake(t, addr, roots, tls.VersionTLS11, nil); err == nil {
			t.Fatal("a TLS 1.1 handshake succeeded")
		}
	})
	t.Run("a self-signed client certificate gets through the handshake", func(t *testing.T) {
		clientCert, clientKey := filepath.Join(dir, "client.crt"), filepath.Join(dir, "client.key")
		writeKeyPair(t, clientCert, clientKey, "client")
		pair, err := tls.LoadX509KeyPair(clientCert, clientKey)
		if err != nil {
			t.Fatal(err)
		}
		cfg := &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{pair}}
		conn, err := tls.Dial("tcp", addr, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		b := make([]byte, 1)
		if _, err := conn.Read(b); err != nil || b[0] != '1' {
			t.Fatalf("the server saw %q client certificates: %v", b, err)
		}
	})
	t.Run("a reload serves the new certificate", func(t *testing.T) {
		second := writeKeyPair(t, certFile, keyFile, "second")
		if _, err := files.reload(); err != nil {
			t.Fatal(err)
		}
		both := roots.Clone()
		both.AddCert(second)
		got, err := handshake(t, addr, both, 0, nil)
		if err != nil || !got.Equal(second) {
			t.Fatalf("after the reload the server presents %v (%v), want the second certificate", got.Subject, err)
		}
		t.Run("and a broken file leaves it in place", func(t *testing.T) {
			write(t, keyFile, "not a key")
			if _, err := files.reload(); err == nil || !strings.Contains(err.Error(), "OAUTH2_TLS_KEY_FILE") {
				t.Fatalf("reload = %v, want an error naming the key file", err)
			}
			got, err := handshake(t, addr, both, 0, nil)
			if err != nil || !got.Equal(second) {
				t.Fatalf("the server presents %v (%v), want the second certificate still", got.Subject, err)
			}
		})
	})
	t.Run("without client certificates none is asked for", func(t *testing.T) {
		if c := files.serverConfig(false); c.ClientAuth != tls.NoClientCert {
			t.Fatalf("ClientAuth = %v", c.ClientAuth)
		}
		if c := files.serverConfig(true); c.ClientAuth != tls.RequestClientCert || c.ClientCAs != nil {
			t.Fatalf("ClientAuth = %v, ClientCAs %v: want any certificate requested, no CA names sent", c.ClientAuth, c.ClientCAs)
		}
	})
}
