package install

import (
	"fmt"
	"strings"

	"github.com/ambx/ambx/kube/finding"
)

// Findings reports what is wrong with the installation itself: components
// missing or not ready, versions outside Istio's supported skew, and
// switches set in a way that changes or defeats what they promise.
func (i Info) Findings() []finding.Finding {
	if i.Loading || !i.Discovered {
		return nil // judged once everything is listed, not before
	}
	var out []finding.Finding
	add := func(sev finding.Severity, code string, ref finding.Ref, title, why, fix string) {
		out = append(out, finding.Finding{Severity: sev, Code: code, Object: ref, Title: title, Why: why, Fix: fix})
	}
	assumed := "verdicts assume Istio " + AssumedVersion.MinorString() + "."

	istiod, haveIstiod := i.Found(Istiod)
	switch {
	case i.DeploymentsUnread:
		add(finding.Warning, "install-unreadable", finding.Ref{Kind: "Deployment"},
			"Istio version unknown: istiod Deployments cannot be listed",
			"Rules that differ by version cannot follow the installed one; "+assumed,
			"kubectl auth can-i list deployments.apps -A")
	case !haveIstiod:
		add(finding.Warning, "install-istiod-missing", finding.Ref{Kind: "Deployment"},
			"No istiod found (label app=istiod, any namespace)",
			"Without a control plane nothing is captured, bound or enforced; "+assumed,
			"kubectl get deployments -A -l app=istiod")
	case !istiod.Version.Known():
		add(finding.Warning, "install-version-unknown", ref(istiod),
			"istiod's version cannot be read from its image "+quoteOrNone(istiod.Image),
			"Rules that differ by version cannot follow the installed one; "+assumed,
			"kubectl get deployment -n "+istiod.Namespace+" "+istiod.Name+" -o jsonpath='{.spec.template.spec.containers[*].image}'")
	}

	for _, c := range i.Components {
		if c.Desired > 0 && c.Ready >= c.Desired {
			continue
		}
		sev, why := finding.Error, ""
		switch c.Kind {
		case Istiod:
			why = "Without a ready istiod, new pods get no certificates or configuration, and changes to waypoints and policies are not pushed."
			if c.Ready > 0 {
				sev = finding.Warning
				why = "Part of the control plane is down; proxies connected to the missing replicas reconnect elsewhere."
			}
		case Ztunnel:
			why = "Ambient pods on nodes without a ready ztunnel can neither send nor receive traffic."
		case CNI:
			why = "On nodes without a ready istio-cni agent, new ambient pods are not captured."
		}
		if c.Desired == 0 {
			why = "It runs no pods at all. " + why
		}
		add(sev, "install-not-ready", ref(c),
			fmt.Sprintf("%s %s/%s: %d of %d ready", c.Kind, c.Namespace, c.Name, c.Ready, c.Desired), why,
			fmt.Sprintf("kubectl get pods -n %s -o wide -l %s", c.Namespace, podSelector(c.Kind)))
	}

	ambientOn := i.Switch(EnvEnableAmbient)
	if haveIstiod && ambientOn && !i.DaemonSetsUnread {
		for _, k := range []Kind{Ztunnel, CNI} {
			if _, ok := i.Found(k); ok {
				continue
			}
			add(finding.Error, "install-dataplane-missing", ref(istiod),
				fmt.Sprintf("istiod runs ambient but no %s DaemonSet was found", k),
				fmt.Sprintf("Ambient mode needs both ztunnel and istio-cni on every node; without %s no pod joins the mesh.", k),
				"kubectl get daemonsets -A -l 'app.kubernetes.io/name in (ztunnel,istio-cni)'")
		}
	}
	if z, ok := i.Found(Ztunnel); ok && haveIstiod && !ambientOn && i.Env != nil {
		add(finding.Error, "install-ambient-off", ref(istiod),
			"ztunnel runs but istiod has ambient off ("+EnvEnableAmbient+" is not true)",
			"istiod sends ztunnel "+z.Namespace+"/"+z.Name+" no workloads or policies, and ignores every ambient switch.",
			"kubectl set env deployment/"+istiod.Name+" -n "+istiod.Namespace+" "+EnvEnableAmbient+"=true")
	}
	if c, ok := i.Found(CNI); ok && i.CNIConfig.Read && !i.CNIConfig.AmbientEnabled {
		if _, z := i.Found(Ztunnel); z {
			add(finding.Error, "install-cni-ambient-off", ref(c),
				"istio-cni has ambient redirection off (AMBIENT_ENABLED is not true)",
				"istio-cni captures no pod, so no ambient pod's traffic reaches ztunnel, however namespaces are labelled ("+i.CNIConfig.Source+").",
				"helm upgrade istio-cni istio/cni -n "+c.Namespace+" --reuse-values --set profile=ambient")
		}
	}

	// Skew: ztunnel and istio-cni at 1.x work with istiod 1.x and 1.x+1.
	if haveIstiod && istiod.Version.Known() {
		for _, c := range i.Components {
			if c.Kind == Istiod || !c.Version.Known() {
				continue
			}
			// Minors apart; a major apart counts as far beyond the skew.
			d := (istiod.Version.Major-c.Version.Major)*1000 + istiod.Version.Minor - c.Version.Minor
			switch {
			case d < 0:
				add(finding.Warning, "install-version-skew", ref(c),
					fmt.Sprintf("%s %s is newer than istiod %s", c.Kind, c.Version, istiod.Version),
					"Istio supports the data plane at istiod's minor or one behind, never ahead: upgrade istiod first.", upgradeHint(c))
			case d > 1:
				add(finding.Warning, "install-version-skew", ref(c),
					fmt.Sprintf("%s %s is behind istiod %s beyond the supported skew", c.Kind, c.Version, istiod.Version),
					"Istio supports the data plane at most one minor behind istiod; what istiod sends may be misread.", upgradeHint(c))
			}
		}
	}

	// Switches.
	for _, s := range i.Switches() {
		if !s.Set || !s.Ignored {
			continue
		}
		add(finding.Warning, "install-switch-ignored", ref(istiod),
			fmt.Sprintf("istiod %s=%s has no effect", s.Name, s.Raw),
			"It is "+s.Source+", so ambx judges as if it were "+onOff(s.On)+".",
			"kubectl set env deployment/"+istiod.Name+" -n "+istiod.Namespace+" "+s.Name+"-")
	}
	if i.Switch(EnvDryRunAuthorizationPolicy) {
		if z, ok := i.Found(Ztunnel); ok && z.Version.Known() && !z.Version.AtLeast(1, 29) {
			add(finding.Error, "install-dry-run-old-ztunnel", ref(z),
				fmt.Sprintf("Dry-run policies are sent to ztunnel %s, which enforces them", z.Version),
				"istiod sends dry-run AuthorizationPolicies ("+EnvDryRunAuthorizationPolicy+"=true), but ztunnel before 1.29 does not know dry-run and enforces them as real policies.",
				upgradeHint(z))
		}
	}
	return out
}

func ref(c Component) finding.Ref {
	kind := "DaemonSet"
	if c.Kind == Istiod {
		kind = "Deployment"
	}
	return finding.Ref{Kind: kind, Namespace: c.Namespace, Name: c.Name}
}

func podSelector(k Kind) string {
	switch k {
	case Ztunnel:
		return "app=ztunnel"
	case CNI:
		return "k8s-app=istio-cni-node"
	}
	return "app=istiod"
}

func upgradeHint(c Component) string {
	return fmt.Sprintf("kubectl get pods -n %s -l %s -o jsonpath='{.items[*].spec.containers[*].image}'", c.Namespace, podSelector(c.Kind))
}

func onOff(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func quoteOrNone(s string) string {
	if strings.TrimSpace(s) == "" {
		return "(none)"
	}
	return fmt.Sprintf("%q", s)
}
