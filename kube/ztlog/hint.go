package ztlog

import "strings"

// Cause is the kind of failure an access line's error names.
type Cause uint8

// Causes, from ztunnel's proxy::Error and AuthorizationRejectionError.
const (
	CauseNone            Cause = iota
	CauseNetworkPolicy         // HBONE connect to 15008 timed out
	CauseNoAllowMatch          // ALLOW policies exist but none matched
	CauseDenied                // a DENY policy matched (Policy names it)
	CauseWorkloadUnknown       // destination workload unknown or mismatched
	CausePolicyRejected        // a policy rejected it; older builds give no reason
	CausePolicyChange          // closed after a policy update
	CauseCertRevoked           // peer certificate revoked by CRL
	CauseConnectRejected       // the remote end answered CONNECT with an HTTP error
	CauseTLS                   // TLS handshake or certificate failure
	CauseH2                    // HTTP/2 handshake failure
	CauseIdentity              // ztunnel could not get a certificate
	CauseRefused               // nothing listens on the destination port
	CauseLocalUnknown          // source pod not yet known to ztunnel
	CauseRouting               // waypoint, service or port could not be resolved
	CauseDrain                 // ztunnel restarting or draining
	CauseTimeout               // a timeout that names no port (ztunnel ≤ 1.22.3 wording)
	CauseOther                 // an error ambx has no hint for
)

var causeNames = [...]string{"", "network-policy", "no-allow-match", "denied", "workload-unknown", "policy-rejected",
	"policy-change", "cert-revoked", "connect-rejected", "tls", "h2", "identity", "refused", "local-unknown",
	"routing", "drain", "timeout", "other"}

// String names the cause for scripts (ambx logs -o json).
func (c Cause) String() string {
	if int(c) < len(causeNames) {
		return causeNames[c]
	}
	return "other"
}

// Hint is what an error means and what to look at.
type Hint struct {
	Cause Cause
	// Flag is the response_flags value ztunnel's metrics give this error.
	Flag string
	// Text is a one-line explanation for the pane.
	Text string
	// Policy is the AuthorizationPolicy (namespace/name) the error names.
	Policy string
}

// PeerAuthentication reports whether the named policy is one istiod
// generates from a PeerAuthentication rather than a user's policy.
func (h Hint) PeerAuthentication() bool {
	return strings.Contains(h.Policy, "/istio_converted_static_strict") ||
		strings.Contains(h.Policy, "/converted_peer_authentication_")
}

const policyRejection = "connection closed due to policy rejection"

// Explain maps an access line's error text to a hint. An empty error gives
// the zero Hint.
func Explain(err string) Hint {
	e := strings.TrimSpace(err)
	switch {
	case e == "":
		return Hint{}
	case strings.HasPrefix(e, "connection timed out, maybe a NetworkPolicy is blocking HBONE port 15008"):
		return Hint{Cause: CauseNetworkPolicy, Flag: "NETWORK_POLICY",
			Text: "HBONE connect timed out: a NetworkPolicy (or firewall) likely drops port 15008 into the destination pod"}
	case strings.HasPrefix(e, policyRejection):
		return explainRejection(strings.TrimPrefix(e, policyRejection))
	case strings.HasPrefix(e, "connection closed due to policy change"):
		return Hint{Cause: CausePolicyChange, Flag: "DENY",
			Text: "an open connection was closed after an AuthorizationPolicy changed"}
	case strings.HasPrefix(e, "connection closed: peer certificate revoked"):
		return Hint{Cause: CauseCertRevoked, Flag: "CERT_REVOKED", Text: "the peer's certificate is revoked by the CRL"}
	case strings.HasPrefix(e, "http status: "):
		t := "the remote end rejected the HBONE CONNECT (" + strings.TrimPrefix(e, "http status: ") + ")"
		if strings.HasPrefix(e, "http status: 401") {
			t += "; on an older inbound ztunnel 401 means an AuthorizationPolicy denied it"
		}
		return Hint{Cause: CauseConnectRejected, Flag: "CONNECT", Text: t}
	case strings.HasPrefix(e, "io error: deadline has elapsed"), e == "deadline has elapsed":
		// ztunnel 1.22.0-1.22.3 and earlier word the HBONE connect timeout
		// this way; Line.Hint upgrades it when the hop went to 15008.
		return Hint{Cause: CauseTimeout, Flag: "CONNECT",
			Text: "timed out (older ztunnel wording): on an HBONE hop a NetworkPolicy or firewall dropping port 15008 is the usual cause"}
	case strings.HasPrefix(e, "tls error"), strings.HasPrefix(e, "tls handshake failed"), strings.HasPrefix(e, "ssl error"):
		// "tls handshake failed: …" and "ssl error: …" are the wordings of
		// ztunnel 1.21 and earlier (BoringSSL).
		return Hint{Cause: CauseTLS, Flag: "TLS_FAILURE", Text: "TLS failed: check certificates and that both sides share a trust domain"}
	case strings.HasPrefix(e, "http2 handshake failed"), strings.HasPrefix(e, "h2 failed"),
		strings.HasPrefix(e, "http handshake failed"), strings.HasPrefix(e, "http failed"):
		// "http handshake failed" and "http failed" are ztunnel ≤ 1.22's
		// names for the tunnel's HTTP/2 failures.
		return Hint{Cause: CauseH2, Flag: "H2_HANDSHAKE_FAILURE", Text: "the HTTP/2 handshake of the HBONE tunnel failed"}
	case strings.HasPrefix(e, "identity error"):
		return Hint{Cause: CauseIdentity, Flag: "IDENTITY_ERROR", Text: "ztunnel could not get a certificate: check it can reach istiod on 15012"}
	case strings.Contains(e, "Connection refused"):
		return Hint{Cause: CauseRefused, Flag: "CONNECT", Text: "connection refused: nothing listens on the destination port"}
	case strings.HasPrefix(e, "failed to fetch information about local workload"), strings.HasPrefix(e, "unknown source"):
		return Hint{Cause: CauseLocalUnknown, Text: "the source pod is not known to ztunnel yet (xDS lag, or the pod is not captured)"}
	case strings.HasPrefix(e, "unknown waypoint"), strings.HasPrefix(e, "no healthy upstream"),
		strings.HasPrefix(e, "no service or workload for hostname"), strings.HasPrefix(e, "no valid target port"),
		strings.HasPrefix(e, "requested service"), strings.HasPrefix(e, "no gateway address"),
		strings.HasPrefix(e, "unknown destination"), strings.HasPrefix(e, "no valid routing destination"),
		strings.HasPrefix(e, "no ip addresses were resolved"), strings.HasPrefix(e, "no endpoints for workload"),
		strings.HasPrefix(e, "no service for target address"), strings.HasPrefix(e, "unknown network gateway"):
		return Hint{Cause: CauseRouting, Flag: "CONNECT", Text: "routing failed: check the waypoint exists and the Service's ports match the pods"}
	case strings.Contains(e, "drain"):
		return Hint{Cause: CauseDrain, Text: "ztunnel was restarting or draining connections"}
	}
	return Hint{Cause: CauseOther}
}

func explainRejection(reason string) Hint {
	reason = strings.TrimSpace(strings.TrimPrefix(reason, ":"))
	h := Hint{Flag: "DENY"}
	switch {
	case reason == "":
		h.Cause, h.Text = CausePolicyRejected, "an AuthorizationPolicy rejected the connection (this ztunnel does not say which)"
	case strings.HasPrefix(reason, "allow policies exist, but none allowed"):
		h.Cause, h.Text = CauseNoAllowMatch, "ALLOW policies apply to the destination but none matched (L7 rules never match at ztunnel)"
	case strings.HasPrefix(reason, "explicitly denied by:"):
		h.Policy = strings.TrimSpace(strings.TrimPrefix(reason, "explicitly denied by:"))
		h.Cause, h.Text = CauseDenied, "denied by AuthorizationPolicy "+h.Policy
		if h.PeerAuthentication() {
			h.Text = "denied by a PeerAuthentication (STRICT mTLS): " + h.Policy
		}
	case strings.HasPrefix(reason, "workload not found"), strings.HasPrefix(reason, "workload mismatch"):
		h.Cause, h.Text = CauseWorkloadUnknown, "the destination workload is unknown to ztunnel ("+reason+"): xDS lag or IP reuse"
	default:
		h.Cause, h.Text = CausePolicyRejected, "an AuthorizationPolicy rejected the connection: "+reason
	}
	return h
}
