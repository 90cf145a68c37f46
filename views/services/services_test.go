package services_test

import (
	"testing"

	"github.com/ambx/ambx/theme"
	"github.com/ambx/ambx/views/pane/panetest"
	"github.com/ambx/ambx/views/services"
)

// TestGoldens renders the pane over the demo cluster (see panetest).
func TestGoldens(t *testing.T) { panetest.Goldens(t, services.New(theme.Plain)) }

// TestScreens renders it full-screen at 120x35 and 80x24.
func TestScreens(t *testing.T) { panetest.Screens(t, services.New(theme.Plain)) }
