package ui

import (
	"bytes"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/demo"
	"github.com/ambx/ambx/kube/safe/hostile"
	"github.com/ambx/ambx/theme"
)

// terminalBytes runs the root model in a real Bubble Tea program over snap,
// walks a few keys, and returns every byte the program wrote.
func terminalBytes(t *testing.T, snap *kube.Snapshot, keys ...string) string {
	t.Helper()
	var out bytes.Buffer
	m := New(Options{Theme: theme.Plain, Now: func() time.Time { return demo.Epoch }})
	p := tea.NewProgram(m, tea.WithInput(nil), tea.WithOutput(&out), tea.WithoutSignalHandler(), tea.WithWindowSize(120, 40))
	done := make(chan error, 1)
	go func() { _, err := p.Run(); done <- err }()
	p.Send(tea.WindowSizeMsg{Width: 120, Height: 40})
	p.Send(SnapshotMsg{snap})
	for _, k := range keys {
		time.Sleep(30 * time.Millisecond) // let the renderer draw each screen
		p.Send(keyPress(k))
	}
	time.Sleep(100 * time.Millisecond)
	p.Send(tea.QuitMsg{})
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("program: %v", err)
		}
	case <-time.After(10 * time.Second):
		p.Kill()
		t.Fatal("the program did not quit")
	}
	return out.String()
}

// sequences lists the escape sequences in s by their introducer: "CSI",
// or the raw introducer for anything else (OSC "]", DCS "P", …).
func sequences(s string) map[string]int {
	seen := map[string]int{}
	for i := 0; i < len(s); i++ {
		if s[i] != 0x1b || i+1 >= len(s) {
			continue
		}
		if s[i+1] == '[' {
			seen["CSI"]++
			continue
		}
		seen[string(s[i+1])]++
	}
	return seen
}

// What the terminal receives over a hostile cluster holds only the
// sequences Bubble Tea itself writes over a clean one: no OSC (clipboard,
// hyperlink, title), no DCS, no BEL, no C1 byte, and none of the injected
// payloads' text as sequences.
func TestHostileClusterTerminalBytes(t *testing.T) {
	keys := []string{"tab", "d", "esc", "tab", "tab", "d", "esc", "!", "j", "esc"}
	clean := sequences(terminalBytes(t, demo.Homelab(), keys...))
	got := terminalBytes(t, hostile.Snapshot(true), keys...)
	for intro, n := range sequences(got) {
		if _, ok := clean[intro]; !ok {
			t.Errorf("ESC %s appears %d times over the hostile cluster and never over the clean one", intro, n)
		}
	}
	for _, bad := range []string{"\x1b]52;", "\x1b]8;", "\x1bP", "\x07", "\u009b", "\u202e", "\x1b[8m", "\x1b[31;8m"} {
		if i := strings.Index(got, bad); i >= 0 {
			t.Errorf("%q reached the terminal: %q", bad, got[max(0, i-40):min(len(got), i+40)])
		}
	}
	if !strings.Contains(got, `\x1b]52;c;`) {
		t.Errorf("the escaped payload is not on screen: the test saw no hostile text")
	}
}
