package policies_test

import (
	"testing"

	"github.com/ambx/ambx/theme"
	"github.com/ambx/ambx/views/pane/panetest"
	"github.com/ambx/ambx/views/policies"
)

// TestGoldens renders the pane over the demo cluster (see panetest).
func TestGoldens(t *testing.T) { panetest.Goldens(t, policies.New(theme.Plain)) }

// TestStates renders the pane in each watch state (see panetest).
func TestStates(t *testing.T) { panetest.States(t, policies.New(theme.Plain)) }
