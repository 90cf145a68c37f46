package ui

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/demo"
	"github.com/ambx/ambx/kube/safe/hostile"
	"github.com/ambx/ambx/kube/writer"
	"github.com/ambx/ambx/theme"
)

// The root model over a cluster whose every string is hostile: each pane,
// overlay and the status bar, at each step of a walk through the keys, must
// draw nothing a terminal acts on. Rendered with theme.Plain, so any ESC
// in the frame was injected; Render is read before the frame guard of
// View, so the views' own entry points are what is tested.
func TestHostileClusterNeverReachesTheTerminal(t *testing.T) {
	now := func() time.Time { return demo.Epoch.Add(2 * time.Second) }
	walk := []string{"tab", "d", "esc", "tab", "d", "esc", "tab", "d", "esc", "tab", "d", "esc",
		"!", "j", "j", "enter", "esc", "1", "enter", "d", "esc", "esc", "o", "o", "?", "esc",
		"/", "x\x1b]52;c;eA==\x07\r\n\u009b", "enter", "esc", "2", "n", "esc", "1", "j", "j", "d", "esc"}
	snaps := map[string]*kube.Snapshot{"labels kept": hostile.Snapshot(false), "all": hostile.Snapshot(true), "unreachable": hostile.Unreachable()}
	for _, sz := range [][2]int{{160, 50}, {100, 30}, {60, 15}} {
		for name, s := range snaps {
			m := New(Options{Theme: theme.Plain, Now: now, Context: "ctx" + hostile.Payloads[1]})
			step := func(what string, msg tea.Msg) {
				mm, _ := m.Update(msg)
				m = mm.(Model)
				at := fmt.Sprintf("%s %dx%d after %s", name, sz[0], sz[1], what)
				out := m.Render()
				hostile.Check(t, at, out)
				if n := strings.Count(out, "\n") + 1; n > sz[1] {
					t.Errorf("%s: %d lines on a %d-line screen", at, n, sz[1])
				}
				hostile.Check(t, at+" (view)", m.View().Content)
			}
			step("resize", tea.WindowSizeMsg{Width: sz[0], Height: sz[1]})
			step("snapshot", SnapshotMsg{s})
			step("usage", UsageMsg{hostile.Usage(s)})
			for _, p := range hostile.Payloads {
				step("status", StatusMsg{Text: "forbidden: " + p, Error: true})
			}
			step("write error", WriteResultMsg{Plan: writer.Plan{Title: "enroll " + hostile.Payloads[0]},
				Err: errors.New("admission webhook said " + hostile.Payloads[3] + hostile.Payloads[4])})
			for _, k := range walk {
				step("key "+fmt.Sprintf("%q", k), keyPress(k))
			}
		}
	}
}

func keyPress(k string) tea.KeyPressMsg {
	switch k {
	case "tab":
		return tea.KeyPressMsg{Code: tea.KeyTab}
	case "enter":
		return tea.KeyPressMsg{Code: tea.KeyEnter}
	case "esc":
		return tea.KeyPressMsg{Code: tea.KeyEscape}
	}
	r := []rune(k)
	return tea.KeyPressMsg{Code: r[0], Text: k}
}
