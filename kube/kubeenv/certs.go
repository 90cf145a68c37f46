package kubeenv

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// pki is the key material one env's API server runs with. It is made fresh
// at start-up, so no secrets live in the repository and no two envs trust
// each other.
type pki struct {
	caCert           string // signs the serving certificate; the kubeconfig trusts it
	servingCert      string
	servingKey       string
	frontProxyCA     string // the aggregator's client identity towards aggregated APIs
	frontProxyCert   string
	frontProxyKey    string
	serviceAccountPK string // public half, to verify service-account tokens
	serviceAccountSK string // private half, to sign them
}

// frontProxyName is the CN the aggregator presents; the API server only
// accepts request headers from a client with this name.
const frontProxyName = "front-proxy-client"

type keyPair struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newPKI(dir string) (*pki, error) {
	p := &pki{
		caCert:           filepath.Join(dir, "ca.crt"),
		servingCert:      filepath.Join(dir, "apiserver.crt"),
		servingKey:       filepath.Join(dir, "apiserver.key"),
		frontProxyCA:     filepath.Join(dir, "front-proxy-ca.crt"),
		frontProxyCert:   filepath.Join(dir, "front-proxy-client.crt"),
		frontProxyKey:    filepath.Join(dir, "front-proxy-client.key"),
		serviceAccountPK: filepath.Join(dir, "sa.pub"),
		serviceAccountSK: filepath.Join(dir, "sa.key"),
	}
	ca, err := newCert(nil, &x509.Certificate{
		Subject:               pkix.Name{CommonName: "kubeenv-ca"},
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
	})
	if err != nil {
		return nil, err
	}
	serving, err := newCert(ca, &x509.Certificate{
		Subject:     pkix.Name{CommonName: "kube-apiserver"},
		DNSNames:    []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	if err != nil {
		return nil, err
	}
	fpCA, err := newCert(nil, &x509.Certificate{
		Subject:               pkix.Name{CommonName: "kubeenv-front-proxy-ca"},
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
	})
	if err != nil {
		return nil, err
	}
	fp, err := newCert(fpCA, &x509.Certificate{
		Subject:     pkix.Name{CommonName: frontProxyName},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	if err != nil {
		return nil, err
	}
	sa, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	saPub, err := x509.MarshalPKIXPublicKey(&sa.PublicKey)
	if err != nil {
		return nil, err
	}
	for _, w := range []struct {
		path string
		err  error
	}{
		{p.caCert, writeCert(p.caCert, ca)},
		{p.servingCert, writeCert(p.servingCert, serving)},
		{p.servingKey, writeKey(p.servingKey, serving.key)},
		{p.frontProxyCA, writeCert(p.frontProxyCA, fpCA)},
		{p.frontProxyCert, writeCert(p.frontProxyCert, fp)},
		{p.frontProxyKey, writeKey(p.frontProxyKey, fp.key)},
		{p.serviceAccountPK, writePEM(p.serviceAccountPK, "PUBLIC KEY", saPub)},
		{p.serviceAccountSK, writeKey(p.serviceAccountSK, sa)},
	} {
		if w.err != nil {
			return nil, fmt.Errorf("write %s: %w", w.path, w.err)
		}
	}
	return p, nil
}

// newCert makes a key and a certificate from tmpl, signed by parent, or
// self-signed when parent is nil.
func newCert(parent *keyPair, tmpl *x509.Certificate) (*keyPair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, err
	}
	tmpl.SerialNumber = serial
	// Backdated so a clock a little behind still accepts it.
	tmpl.NotBefore = time.Now().Add(-time.Hour)
	tmpl.NotAfter = time.Now().Add(7 * 24 * time.Hour)
	signer, signerCert := key, tmpl
	if parent != nil {
		signer, signerCert = parent.key, parent.cert
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signerCert, &key.PublicKey, signer)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &keyPair{cert: cert, key: key}, nil
}

func writeCert(path string, kp *keyPair) error {
	return writePEM(path, "CERTIFICATE", kp.cert.Raw)
}

func writeKey(path string, key *ecdsa.PrivateKey) error {
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	return writePEM(path, "EC PRIVATE KEY", der)
}

func writePEM(path, kind string, der []byte) error {
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600)
}
