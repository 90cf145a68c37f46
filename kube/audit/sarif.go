package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"path/filepath"
	"strings"
)

// The SARIF 2.1.0 log, as far as ambx fills it (OASIS SARIF 2.1.0,
// errata 01; testdata holds the schema the output is tested against).
type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool        sarifTool         `json:"tool"`
	Invocations []sarifInvocation `json:"invocations"`
	Results     []sarifResult     `json:"results"`
	Properties  map[string]any    `json:"properties,omitempty"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name    string      `json:"name"`
	Version string      `json:"version,omitempty"`
	Rules   []sarifRule `json:"rules"`
}

type sarifRule struct {
	ID                   string       `json:"id"`
	ShortDescription     sarifMessage `json:"shortDescription"`
	DefaultConfiguration sarifConfig  `json:"defaultConfiguration"`
}

type sarifConfig struct {
	Level string `json:"level"`
}

type sarifMessage struct {
	Text string `json:"text"`
}

type sarifInvocation struct {
	ExecutionSuccessful        bool                `json:"executionSuccessful"`
	ToolExecutionNotifications []sarifNotification `json:"toolExecutionNotifications,omitempty"`
}

type sarifNotification struct {
	Level   string       `json:"level"`
	Message sarifMessage `json:"message"`
}

type sarifResult struct {
	RuleID              string            `json:"ruleId"`
	RuleIndex           int               `json:"ruleIndex"`
	Level               string            `json:"level"`
	Message             sarifMessage      `json:"message"`
	Locations           []sarifLocation   `json:"locations"`
	PartialFingerprints map[string]string `json:"partialFingerprints"`
}

type sarifLocation struct {
	PhysicalLocation *sarifPhysical `json:"physicalLocation,omitempty"`
	LogicalLocations []sarifLogical `json:"logicalLocations"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
	Region           *sarifRegion  `json:"region,omitempty"`
}

type sarifArtifact struct {
	URI string `json:"uri"`
}

type sarifRegion struct {
	StartLine int `json:"startLine"`
}

type sarifLogical struct {
	Name               string `json:"name"`
	FullyQualifiedName string `json:"fullyQualifiedName"`
	Kind               string `json:"kind"`
}

// sarifLevel maps a severity to SARIF's level.
func sarifLevel(sev string) string {
	switch sev {
	case "error":
		return "error"
	case "warning":
		return "warning"
	}
	return "note"
}

// SARIF returns the report as a SARIF 2.1.0 log: one rule per finding
// code, one result per finding at the file and line of the object (or the
// field its fix changes) when manifests were audited, and the object's
// name as a logical location always. A partial report is an unsuccessful
// run whose notifications name what was not read.
func SARIF(r *Report) any {
	run := sarifRun{
		Tool:    sarifTool{Driver: sarifDriver{Name: "ambx", Version: r.Tool.Version, Rules: []sarifRule{}}},
		Results: []sarifResult{},
		Properties: map[string]any{
			"schema": r.Schema, "result": r.Result, "source": r.Source, "scope": r.Scope, "unread": r.Unread,
		},
	}
	inv := sarifInvocation{ExecutionSuccessful: r.Result != ResultPartial}
	for _, u := range r.Unread {
		msg := u.Resource + " not read (" + u.State + ")"
		if u.Detail != "" {
			msg += ": " + u.Detail
		}
		inv.ToolExecutionNotifications = append(inv.ToolExecutionNotifications, sarifNotification{Level: "error", Message: sarifMessage{Text: msg}})
	}
	run.Invocations = []sarifInvocation{inv}
	ruleIndex := map[string]int{}
	for _, f := range r.Findings {
		idx, ok := ruleIndex[f.Code]
		if !ok {
			idx = len(run.Tool.Driver.Rules)
			ruleIndex[f.Code] = idx
			run.Tool.Driver.Rules = append(run.Tool.Driver.Rules, sarifRule{ID: f.Code, ShortDescription: sarifMessage{Text: f.Code},
				DefaultConfiguration: sarifConfig{Level: sarifLevel(f.Severity)}})
		}
		msg := f.Title + ". " + f.Why
		if f.Fix != "" {
			msg += "\nFix: " + f.Fix
		}
		loc := sarifLocation{LogicalLocations: []sarifLogical{{Name: f.Object.Name, FullyQualifiedName: objectString(f.Object), Kind: "resource"}}}
		if f.Location.File != "" {
			loc.PhysicalLocation = &sarifPhysical{ArtifactLocation: sarifArtifact{URI: fileURI(f.Location.File)}}
			if f.Location.Line > 0 {
				loc.PhysicalLocation.Region = &sarifRegion{StartLine: f.Location.Line}
			}
		}
		sum := sha256.Sum256([]byte(strings.Join([]string{f.Code, f.Object.Kind, f.Object.Namespace, f.Object.Name, f.Title}, "\x00")))
		run.Results = append(run.Results, sarifResult{RuleID: f.Code, RuleIndex: idx, Level: sarifLevel(f.Severity), Message: sarifMessage{Text: msg},
			Locations: []sarifLocation{loc}, PartialFingerprints: map[string]string{"ambxFinding/v1": hex.EncodeToString(sum[:16])}})
	}
	return sarifLog{
		Schema:  "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json",
		Version: "2.1.0",
		Runs:    []sarifRun{run},
	}
}

// fileURI makes a path a URI reference: relative paths stay relative (to
// the folder the audit ran in, normally the repository root), absolute
// ones become file URIs.
func fileURI(p string) string {
	p = filepath.ToSlash(p)
	if strings.HasPrefix(p, "/") {
		return (&url.URL{Scheme: "file", Path: p}).String()
	}
	return (&url.URL{Path: strings.TrimPrefix(p, "./")}).String()
}
