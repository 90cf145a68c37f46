package policies_test

import (
	"testing"

	"github.com/ambx/ambx/theme"
	"github.com/ambx/ambx/views/pane/panetest"
	"github.com/ambx/ambx/views/policies"
)

// TestGoldens renders the pane over the demo cluster (see panetest).
func TestGoldens(t *testing.T) { panetest.Goldens(t, policies.New(theme.Plain)) }

// The pane full-screen at 200x50, 120x35 and 80x24: the column rules.
func TestScreens(t *testing.T) { panetest.Screens(t, policies.New(theme.Plain)) }

// TestStates renders the pane in each watch state (see panetest).
func TestStates(t *testing.T) { panetest.States(t, policies.New(theme.Plain)) }
