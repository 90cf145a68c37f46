package install

import (
	meshv1alpha1 "istio.io/api/mesh/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// Visibility is how far istiod publishes a ServiceEntry to ambient proxies,
// from meshConfig.serviceEntryVisibility.
type Visibility string

// Visibilities (pilot/pkg/model/serviceentry_visibility.go, 1.31+).
const (
	VisibilityPublic    Visibility = "PUBLIC"    // the legacy default: exportTo alone decides
	VisibilityNamespace Visibility = "NAMESPACE" // its own namespace only; no waypoint in another namespace
	VisibilityNone      Visibility = "NONE"      // not published at all: ambient configures nothing for it
)

// ServiceEntryVisibilityFor resolves the visibility of a ServiceEntry in a
// namespace with the given labels as istiod 1.31+ does: the first policy
// whose matching rules all match wins (no rules: a catch-all), else the
// default; unspecified is PUBLIC. A rule with no namespace selector, or one
// that does not compile, never matches. Before 1.31, or unset, PUBLIC.
func (i Info) ServiceEntryVisibilityFor(nsLabels map[string]string) Visibility {
	sev := i.ServiceEntryVisibility
	if sev == nil || !i.Effective().AtLeast(1, 31) {
		return VisibilityPublic
	}
	set := labels.Set(nsLabels)
	for _, p := range sev.GetPolicies() {
		if rulesMatch(p.GetMatchingRules(), set) {
			return visibility(p.GetVisibility())
		}
	}
	return visibility(sev.GetDefaultVisibility())
}

func rulesMatch(rules []*meshv1alpha1.ServiceEntryVisibility_MatchRule, set labels.Set) bool {
	for _, r := range rules {
		ms := r.GetNamespaceSelector()
		if ms == nil {
			return false
		}
		sel := metav1.LabelSelector{MatchLabels: ms.GetMatchLabels()}
		for _, e := range ms.GetMatchExpressions() {
			sel.MatchExpressions = append(sel.MatchExpressions, metav1.LabelSelectorRequirement{
				Key: e.GetKey(), Operator: metav1.LabelSelectorOperator(e.GetOperator()), Values: e.GetValues(),
			})
		}
		s, err := metav1.LabelSelectorAsSelector(&sel)
		if err != nil || !s.Matches(set) {
			return false
		}
	}
	return true
}

func visibility(v meshv1alpha1.ServiceEntryVisibility_Visibility) Visibility {
	switch v {
	case meshv1alpha1.ServiceEntryVisibility_NAMESPACE:
		return VisibilityNamespace
	case meshv1alpha1.ServiceEntryVisibility_NONE:
		return VisibilityNone
	}
	return VisibilityPublic
}
