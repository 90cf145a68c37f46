// Package ztunnel reads what a ztunnel itself holds and carries: its
// /config_dump (workloads, services, authorization policies, certificates)
// and its Prometheus metrics, and compares them with what the API objects
// and ambx's analysis say. It is pure: fetching happens elsewhere.
package ztunnel

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// MaxDumpBytes bounds a config_dump ambx will decode. A ztunnel holds every
// workload of the mesh, so a large cluster's dump runs to tens of MiB.
const MaxDumpBytes = 128 << 20

// Dump is the part of a ztunnel /config_dump that ambx shows and checks.
type Dump struct {
	Workloads    []Workload
	Services     []Service
	Policies     []Policy
	Certificates []Certificate
	// Local lists the pods this ztunnel runs an in-pod proxy for (its
	// workloadState), keyed by namespace/name. Nil when the dump has no
	// workloadState (ztunnel builds before in-pod mode).
	Local map[string]string
	// Version is ztunnel's build version, when the dump carries it.
	Version string
	// Legacy is set for dumps of ztunnel ≤1.22, which key workloads and
	// services by address instead of listing them.
	Legacy bool
	// slim is set by Slim, which drops the lists and keeps their count in
	// held.
	slim bool
	held int
}

// Workload is one workload as ztunnel holds it.
type Workload struct {
	UID, Name, Namespace, Node   string
	ServiceAccount, WorkloadName string
	IPs                          []string
	// Protocol is how ztunnel reaches it: HBONE or TCP (ztunnel's default
	// when the field is absent).
	Protocol string
	// Waypoint is the waypoint's address ("network/ip" or "ns/hostname");
	// empty when none.
	Waypoint string
	// Status is Healthy or Unhealthy.
	Status                string
	NetworkMode           string
	AuthorizationPolicies []string
}

// Key is namespace/name.
func (w Workload) Key() string { return w.Namespace + "/" + w.Name }

// Service is one service as ztunnel holds it.
type Service struct {
	Name, Namespace, Hostname string
	VIPs                      []string
	Waypoint                  string
	Endpoints                 int
}

// Key is namespace/name.
func (s Service) Key() string { return s.Namespace + "/" + s.Name }

// Policy is one authorization policy as ztunnel holds it, after istiod's
// translation: rules istiod dropped are not here.
type Policy struct {
	Name, Namespace string
	Scope           string // Global, Namespace, WorkloadSelector
	Action          string // Allow, Deny
	Rules           int
	DryRun          bool
}

// Key is namespace/name.
func (p Policy) Key() string { return p.Namespace + "/" + p.Name }

// Certificate is one workload identity's certificate state.
type Certificate struct {
	Identity string
	// State is "Available", "Initializing" or "Unavailable: <why>".
	State string
	// Expires is the earliest expiry of the chain; zero when not given.
	Expires time.Time
}

// raw mirrors the dump leniently: every field optional, lists or maps.
type raw struct {
	Workloads     json.RawMessage            `json:"workloads"`
	Services      json.RawMessage            `json:"services"`
	Policies      json.RawMessage            `json:"policies"`
	Certificates  []rawCertSet               `json:"certificates"`
	WorkloadState map[string]rawWorkloadInfo `json:"workloadState"`
	Version       json.RawMessage            `json:"version"`
}

type rawWorkload struct {
	UID            string          `json:"uid"`
	Name           string          `json:"name"`
	Namespace      string          `json:"namespace"`
	Node           string          `json:"node"`
	ServiceAccount string          `json:"serviceAccount"`
	WorkloadName   string          `json:"workloadName"`
	WorkloadIPs    []string        `json:"workloadIps"`
	WorkloadIP     string          `json:"workloadIp"` // 2023 builds
	Protocol       string          `json:"protocol"`
	Waypoint       json.RawMessage `json:"waypoint"`
	WaypointAddrs  []string        `json:"waypointAddresses"` // 2023 builds
	Status         string          `json:"status"`
	NetworkMode    string          `json:"networkMode"`
	AuthzPolicies  []string        `json:"authorizationPolicies"`
	NativeHbone    bool            `json:"nativeHbone"` // 2023 builds
}

type rawGateway struct {
	Destination json.RawMessage `json:"destination"`
}

type rawService struct {
	Name      string                     `json:"name"`
	Namespace string                     `json:"namespace"`
	Hostname  string                     `json:"hostname"`
	VIPs      []string                   `json:"vips"`
	Waypoint  json.RawMessage            `json:"waypoint"`
	Endpoints map[string]json.RawMessage `json:"endpoints"`
}

type rawPolicy struct {
	Name      string            `json:"name"`
	Namespace string            `json:"namespace"`
	Scope     string            `json:"scope"`
	Action    string            `json:"action"`
	Rules     []json.RawMessage `json:"rules"`
	DryRun    bool              `json:"dryRun"`
}

type rawCertSet struct {
	Identity  string `json:"identity"`
	State     string `json:"state"`
	CertChain []struct {
		ExpirationTime string `json:"expirationTime"`
	} `json:"certChain"`
}

type rawWorkloadInfo struct {
	State string `json:"state"`
	Info  struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"info"`
}

// Decode reads a config_dump. It accepts every shape ztunnel has written:
// lists (1.23+) or address-keyed maps (≤1.22), waypoints as a string, a
// network address or a namespaced hostname, and ignores fields it does not
// know.
func Decode(data []byte) (*Dump, error) {
	if len(data) > MaxDumpBytes {
		return nil, fmt.Errorf("config_dump is %d bytes, more than the %d ambx reads", len(data), MaxDumpBytes)
	}
	var r raw
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("config_dump is not the JSON ztunnel writes: %w", err)
	}
	d := &Dump{}
	var wls []rawWorkload
	legacyW, err := listOrMap(r.Workloads, &wls)
	if err != nil {
		return nil, fmt.Errorf("config_dump workloads: %w", err)
	}
	var svcs []rawService
	legacyS, err := listOrMap(r.Services, &svcs)
	if err != nil {
		return nil, fmt.Errorf("config_dump services: %w", err)
	}
	var pols []rawPolicy
	if _, err := listOrMap(r.Policies, &pols); err != nil {
		return nil, fmt.Errorf("config_dump policies: %w", err)
	}
	d.Legacy = legacyW || legacyS
	for _, w := range wls {
		ips := w.WorkloadIPs
		if len(ips) == 0 && w.WorkloadIP != "" {
			ips = []string{w.WorkloadIP}
		}
		proto := w.Protocol
		if proto == "" {
			proto = "TCP"
			if w.NativeHbone {
				proto = "HBONE"
			}
		}
		wp := gatewayAddress(w.Waypoint)
		if wp == "" && len(w.WaypointAddrs) > 0 {
			wp = w.WaypointAddrs[0]
		}
		status := w.Status
		if status == "" {
			status = "Healthy"
		}
		d.Workloads = append(d.Workloads, Workload{
			UID: w.UID, Name: w.Name, Namespace: w.Namespace, Node: w.Node,
			ServiceAccount: w.ServiceAccount, WorkloadName: w.WorkloadName,
			IPs: ips, Protocol: proto, Waypoint: wp, Status: status,
			NetworkMode: w.NetworkMode, AuthorizationPolicies: w.AuthzPolicies,
		})
	}
	for _, s := range svcs {
		d.Services = append(d.Services, Service{
			Name: s.Name, Namespace: s.Namespace, Hostname: s.Hostname,
			VIPs: s.VIPs, Waypoint: gatewayAddress(s.Waypoint), Endpoints: len(s.Endpoints),
		})
	}
	for _, p := range pols {
		d.Policies = append(d.Policies, Policy{
			Name: p.Name, Namespace: p.Namespace, Scope: p.Scope, Action: p.Action,
			Rules: len(p.Rules), DryRun: p.DryRun,
		})
	}
	for _, c := range r.Certificates {
		cert := Certificate{Identity: c.Identity, State: c.State}
		for _, link := range c.CertChain {
			t, err := time.Parse(time.RFC3339, link.ExpirationTime)
			if err == nil && (cert.Expires.IsZero() || t.Before(cert.Expires)) {
				cert.Expires = t
			}
		}
		d.Certificates = append(d.Certificates, cert)
	}
	if r.WorkloadState != nil {
		d.Local = make(map[string]string, len(r.WorkloadState))
		for _, ws := range r.WorkloadState {
			if ws.Info.Name != "" {
				d.Local[ws.Info.Namespace+"/"+ws.Info.Name] = ws.State
			}
		}
	}
	d.Version = buildVersion(r.Version)
	sort.Slice(d.Workloads, func(i, j int) bool { return d.Workloads[i].Key() < d.Workloads[j].Key() })
	sort.Slice(d.Services, func(i, j int) bool { return d.Services[i].Key() < d.Services[j].Key() })
	sort.Slice(d.Policies, func(i, j int) bool { return d.Policies[i].Key() < d.Policies[j].Key() })
	sort.Slice(d.Certificates, func(i, j int) bool { return d.Certificates[i].Identity < d.Certificates[j].Identity })
	return d, nil
}

// listOrMap decodes a JSON list into out, or the values of a JSON object
// (ztunnel ≤1.22 keyed them by address). It reports whether it was a map.
func listOrMap[T any](msg json.RawMessage, out *[]T) (bool, error) {
	msg = bytes.TrimSpace(msg)
	if len(msg) == 0 || bytes.Equal(msg, []byte("null")) {
		return false, nil
	}
	switch msg[0] {
	case '[':
		return false, json.Unmarshal(msg, out)
	case '{':
		var m map[string]T
		if err := json.Unmarshal(msg, &m); err != nil {
			return true, err
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			*out = append(*out, m[k])
		}
		return true, nil
	}
	return false, errors.New("neither a list nor an object")
}

// gatewayAddress renders a GatewayAddress's destination: "network/ip" as
// ztunnel writes it, or "namespace/hostname" for a hostname destination.
func gatewayAddress(msg json.RawMessage) string {
	msg = bytes.TrimSpace(msg)
	if len(msg) == 0 || bytes.Equal(msg, []byte("null")) {
		return ""
	}
	var s string
	if json.Unmarshal(msg, &s) == nil {
		return s
	}
	var gw rawGateway
	if json.Unmarshal(msg, &gw) != nil || len(gw.Destination) == 0 {
		return ""
	}
	if json.Unmarshal(gw.Destination, &s) == nil {
		return s
	}
	var host struct {
		Namespace string `json:"namespace"`
		Hostname  string `json:"hostname"`
		Network   string `json:"network"`
		Address   string `json:"address"`
	}
	if json.Unmarshal(gw.Destination, &host) != nil {
		return ""
	}
	if host.Hostname != "" {
		return host.Namespace + "/" + host.Hostname
	}
	if host.Address != "" {
		return host.Network + "/" + host.Address
	}
	return ""
}

// buildVersion takes the version from the dump's BuildInfo, whichever of
// its historical spellings is present.
func buildVersion(msg json.RawMessage) string {
	var bi map[string]any
	if json.Unmarshal(msg, &bi) != nil {
		return ""
	}
	for _, k := range []string{"version", "istioVersion", "buildVersion"} {
		if s, ok := bi[k].(string); ok && s != "" {
			return strings.TrimSpace(s)
		}
	}
	return ""
}
