// Package install describes the Istio installation a cluster runs: which
// components were found, their versions, and the switches that change what
// Istio does. Verdicts that differ by Istio version read it from here, so a
// rule is always a function of the version actually installed. It is pure:
// discovery from API objects fills it elsewhere.
package install

import (
	"fmt"
	"strconv"
	"strings"

	meshv1alpha1 "istio.io/api/mesh/v1alpha1"
)

// Version is an Istio release as major.minor.patch. The zero value is an
// unknown version.
type Version struct {
	Major, Minor, Patch int
	// Raw is the tag it was parsed from (e.g. "1.29.2-distroless").
	Raw string
}

// ParseVersion reads an image tag or version string such as "1.29.2",
// "1.29.2-distroless", "1.30.0-beta.1" or "v1.28". It reports false when the
// string holds no major.minor release (e.g. "latest", a digest, "master").
func ParseVersion(s string) (Version, bool) {
	raw := s
	s = strings.TrimPrefix(strings.TrimSpace(s), "v")
	if i := strings.IndexAny(s, "-+_@"); i >= 0 {
		s = s[:i]
	}
	parts := strings.Split(s, ".")
	if len(parts) < 2 || len(parts) > 3 {
		return Version{}, false
	}
	nums := make([]int, 3)
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || n > 1<<20 {
			return Version{}, false
		}
		nums[i] = n
	}
	if nums[0] == 0 && nums[1] == 0 {
		return Version{}, false
	}
	return Version{Major: nums[0], Minor: nums[1], Patch: nums[2], Raw: raw}, true
}

// Known reports whether the version was read.
func (v Version) Known() bool { return v.Major != 0 || v.Minor != 0 }

// AtLeast reports whether v is major.minor or newer. An unknown version is
// never at least anything; callers decide through Info which version to
// assume.
func (v Version) AtLeast(major, minor int) bool {
	if !v.Known() {
		return false
	}
	return v.Major > major || (v.Major == major && v.Minor >= minor)
}

// Compare orders versions by major, minor, then patch.
func (v Version) Compare(o Version) int {
	for _, d := range [...]int{v.Major - o.Major, v.Minor - o.Minor, v.Patch - o.Patch} {
		if d != 0 {
			if d < 0 {
				return -1
			}
			return 1
		}
	}
	return 0
}

// MinorString is "1.29", or "unknown".
func (v Version) MinorString() string {
	if !v.Known() {
		return "unknown"
	}
	return fmt.Sprintf("%d.%d", v.Major, v.Minor)
}

// String is "1.29.2", or "unknown".
func (v Version) String() string {
	if !v.Known() {
		return "unknown"
	}
	return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch)
}

// AssumedVersion is the istiod version verdicts follow when none could be
// read (no istiod found, or listing it is forbidden). It is the newest
// released minor; the UI says on screen that it is assumed.
var AssumedVersion = Version{Major: 1, Minor: 30, Raw: "assumed"}

// Info is what ambx knows of the installation. The zero value means nothing
// was read: Effective() then returns AssumedVersion.
type Info struct {
	// Istiod, Ztunnel and CNI are the versions read from each component;
	// unknown when the component was not found or could not be read.
	Istiod, Ztunnel, CNI Version
	// Env is istiod's environment as read (the discovery container's env
	// and, from 1.26, the injector ConfigMap's pilot.env), name to raw
	// value; nil when not read. Switch applies per-version defaults.
	Env map[string]string
	// CNIConfig is istio-cni's configuration.
	CNIConfig CNIConfig

	// Components are the istiod Deployments, then the ztunnel and istio-cni
	// DaemonSets, found by label in any namespace.
	Components []Component
	// Tags are the revision tags (from the injector webhooks).
	Tags []Tag
	// Revision and IstiodNamespace are those of the istiod verdicts follow
	// (the one the default tag points at, else revision default).
	Revision, IstiodNamespace string
	// ZtunnelNamespace is where the ztunnel DaemonSet runs; empty when none
	// was found.
	ZtunnelNamespace string
	// EnvUnread names istiod env entries set from a ConfigMap, Secret or
	// field (valueFrom), which ambx does not follow: they read as defaults.
	EnvUnread map[string]string
	// RootNamespace is meshConfig.rootNamespace, and RootSource where it
	// came from.
	RootNamespace, RootSource string
	// ServiceEntryVisibility is meshConfig.serviceEntryVisibility (1.31+);
	// nil when unset or not read.
	ServiceEntryVisibility *meshv1alpha1.ServiceEntryVisibility
	// Problems say what could not be read; the install view shows them.
	Problems []string
	// DeploymentsUnread and DaemonSetsUnread report that istiod, or ztunnel
	// and istio-cni, could not be looked for at all (forbidden, failing).
	DeploymentsUnread, DaemonSetsUnread bool
	// Loading reports that some of these objects are still being listed.
	Loading bool
	// Discovered reports that Discover filled this Info; a zero Info (a
	// hand-built cluster) has no install findings.
	Discovered bool
}

// Found is the first component of a kind, if any.
func (i Info) Found(k Kind) (Component, bool) {
	for _, c := range i.Components {
		if c.Kind == k {
			return c, true
		}
	}
	return Component{}, false
}

// Headline names the installed Istio at a glance: "Istio 1.29.2", with the
// revision when not default, or the version verdicts assume.
func (i Info) Headline() string {
	if i.Assumed() {
		why := "not found"
		if i.Loading {
			return "Istio loading…"
		}
		if i.DeploymentsUnread {
			why = "unreadable"
		} else if c, ok := i.Found(Istiod); ok && !c.Version.Known() {
			why = "version unreadable"
		}
		return "Istio " + why + ", assuming " + AssumedVersion.MinorString()
	}
	s := "Istio " + i.Istiod.String()
	if i.Revision != "" && i.Revision != "default" {
		s += " rev " + i.Revision
	}
	return s
}

// Effective is the istiod version verdicts follow: the one read, else
// AssumedVersion.
func (i Info) Effective() Version {
	if i.Istiod.Known() {
		return i.Istiod
	}
	return AssumedVersion
}

// Assumed reports whether Effective is a guess.
func (i Info) Assumed() bool { return !i.Istiod.Known() }

// ZtunnelEffective is the ztunnel version data-plane rules follow: the one
// read, else istiod's effective version (they are normally upgraded together).
func (i Info) ZtunnelEffective() Version {
	if i.Ztunnel.Known() {
		return i.Ztunnel
	}
	return i.Effective()
}

// CNIEffective is the istio-cni version capture rules follow: the one read,
// else istiod's effective version.
func (i Info) CNIEffective() Version {
	if i.CNI.Known() {
		return i.CNI
	}
	return i.Effective()
}
