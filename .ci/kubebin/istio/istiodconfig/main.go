// Command istiodconfig writes the ConfigMaps istiod reads at start-up (istio
// and istio-sidecar-injector) as Istio's own installer renders them for the
// ambient profile, from the charts embedded in the same istio.io/istio
// module that pilot-discovery is built from. Running the installer's code
// instead of copying its output means the ConfigMaps cannot drift from the
// binary: a version bump in go.mod changes both.
//
//	istiodconfig -o bin/istio/configmaps.yaml
package main

import (
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"

	"istio.io/istio/operator/pkg/component"
	"istio.io/istio/operator/pkg/render"
)

// wanted are the ConfigMaps istiod cannot run without: mesh config, and the
// injector's config whose templates include the waypoint Deployment the
// gateway controller renders.
var wanted = map[string]bool{"istio": true, "istio-sidecar-injector": true}

func main() {
	out := flag.String("o", "", "file to write the ConfigMaps to (multi-document YAML)")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "istiodconfig: -o is required")
		os.Exit(2)
	}
	if err := run(*out); err != nil {
		fmt.Fprintln(os.Stderr, "istiodconfig:", err)
		os.Exit(1)
	}
}

func run(out string) error {
	// The same input as `istioctl manifest generate --set profile=ambient`;
	// no cluster client, so nothing is auto-detected from the environment.
	sets, _, err := render.GenerateManifest(nil, []string{"profile=ambient"}, false, nil, nil)
	if err != nil {
		return err
	}
	var docs []string
	found := map[string]bool{}
	for _, set := range sets {
		if set.Component != component.PilotComponentName {
			continue
		}
		for _, m := range set.Manifests {
			if m.GetKind() != "ConfigMap" || !wanted[m.GetName()] {
				continue
			}
			found[m.GetName()] = true
			docs = append(docs, strings.TrimSpace(m.Content))
		}
	}
	for name := range wanted {
		if !found[name] {
			return fmt.Errorf("the Pilot component rendered no ConfigMap %q", name)
		}
	}
	sort.Strings(docs)
	return os.WriteFile(out, []byte(strings.Join(docs, "\n---\n")+"\n"), 0o644)
}
