package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/yaml"

	"github.com/ambx/ambx/kube/usage"
)

// config is the optional file $XDG_CONFIG_HOME/ambx/config.yaml. Flags win
// over it, except that read-only from any source wins: an audit setting
// must not be undone by a forgotten flag.
type config struct {
	ReadOnly    bool   `json:"readOnly"`
	Refresh     string `json:"refresh"`
	SidecarCost string `json:"sidecarCost"`
	// Mouse false leaves the mouse to the terminal, as --no-mouse does;
	// unset means on.
	Mouse *bool `json:"mouse"`
}

// loadConfig reads path, or the default file when path is empty (a missing
// default file is no error; a missing named one is).
func loadConfig(path string) (config, error) {
	var c config
	explicit := path != ""
	if !explicit {
		dir, err := os.UserConfigDir()
		if err != nil {
			return c, nil
		}
		path = filepath.Join(dir, "ambx", "config.yaml")
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && !explicit {
		return c, nil
	}
	if err != nil {
		return c, fmt.Errorf("config: %w", err)
	}
	if err := yaml.UnmarshalStrict(data, &c); err != nil {
		return c, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// parseSidecarCost reads "10m/50Mi" (CPU/memory); empty means automatic.
func parseSidecarCost(s string) (usage.Resources, error) {
	if s == "" {
		return usage.Resources{}, nil
	}
	cpu, mem, ok := strings.Cut(s, "/")
	if !ok {
		return usage.Resources{}, fmt.Errorf("--sidecar-cost %q: want CPU/memory, e.g. 10m/50Mi", s)
	}
	c, err := resource.ParseQuantity(strings.TrimSpace(cpu))
	if err != nil {
		return usage.Resources{}, fmt.Errorf("--sidecar-cost %q: CPU %q: %v", s, cpu, err)
	}
	m, err := resource.ParseQuantity(strings.TrimSpace(mem))
	if err != nil {
		return usage.Resources{}, fmt.Errorf("--sidecar-cost %q: memory %q: %v", s, mem, err)
	}
	if c.Sign() <= 0 || m.Sign() <= 0 {
		return usage.Resources{}, fmt.Errorf("--sidecar-cost %q: both figures must be positive", s)
	}
	return usage.Resources{CPUMilli: c.MilliValue(), MemBytes: m.Value()}, nil
}
