package config

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strings"
	"time"
)

const (
	defaultMaxAttempts     = 8
	defaultPageSize        = 100
	defaultLookbackMinutes = 5
)

// The default max_concurrency, by flavor. Jira Cloud answers 429 when its
// burst limits (per endpoint) are passed, and the tap slows the refused
// endpoint down; at 16 the 20k benchmark is 10x a sequential run, where 8
// can never pass 8x. A Data Center server has its rate limiting off unless
// its admin turned it on, so nothing tells the tap it is a burden: there
// it keeps 8 (README, "Choosing max_concurrency").
const (
	DefaultConcurrencyCloud      = 16
	DefaultConcurrencyDataCenter = 8
)

// Concurrency is max_concurrency as set, or its default for the flavor.
func (c *Config) Concurrency(cloud bool) int {
	switch {
	case c.MaxConcurrency > 0:
		return c.MaxConcurrency
	case cloud:
		return DefaultConcurrencyCloud
	default:
		return DefaultConcurrencyDataCenter
	}
}

var projectKey = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)

// loadSyncSettings reads the keys that shape a sync: projects, jql,
// page_size, lookback_minutes and deployment_type.
func loadSyncSettings(raw map[string]json.RawMessage, c *Config) error {
	var err error
	if c.Projects, err = loadProjects(raw); err != nil {
		return err
	}
	jql, _, err := optionalString(raw, keyJQL)
	if err != nil {
		return err
	}
	c.JQL = strings.TrimSpace(jql)
	if c.PageSize, err = loadInt(raw, keyPageSize, defaultPageSize, 1, 100); err != nil {
		return err
	}
	if c.MaxAttempts, err = loadInt(raw, keyMaxAttempts, defaultMaxAttempts, 1, 20); err != nil {
		return err
	}
	if c.MaxConcurrency, err = loadInt(raw, keyMaxConcurrency, 0, 1, 32); err != nil {
		return err
	}
	minutes, err := loadNumber(raw, keyLookback, defaultLookbackMinutes, 0, 7*24*60)
	if err != nil {
		return err
	}
	c.Lookback = time.Duration(minutes * float64(time.Minute))
	if v, ok := raw[keyRenderedFields]; ok && jsonType(v) != "null" {
		if err := json.Unmarshal(v, &c.RenderedFields); err != nil {
			return &Error{Key: keyRenderedFields, Msg: "must be true or false, got " + jsonType(v)}
		}
	}
	if v, ok := raw[keyReconcileDeleted]; ok && jsonType(v) != "null" {
		if err := json.Unmarshal(v, &c.ReconcileDeletedIssues); err != nil {
			return &Error{Key: keyReconcileDeleted, Msg: "must be true or false, got " + jsonType(v)}
		}
	}
	if v, ok := raw[keyFlattenCustom]; ok && jsonType(v) != "null" {
		if err := json.Unmarshal(v, &c.FlattenCustomFields); err != nil {
			return &Error{Key: keyFlattenCustom, Msg: "must be true or false, got " + jsonType(v)}
		}
	}
	dep, _, err := optionalString(raw, keyDeployment)
	if err != nil {
		return err
	}
	switch strings.ToLower(strings.TrimSpace(dep)) {
	case "", DeploymentAuto:
		c.Deployment = DeploymentAuto
	case DeploymentCloud:
		c.Deployment = DeploymentCloud
	case DeploymentDataCenter, "server", "data_center", "data center":
		c.Deployment = DeploymentDataCenter
	default:
		return &Error{Key: keyDeployment, Msg: fmt.Sprintf("%q is not one of auto, cloud, datacenter", echo(dep))}
	}
	return nil
}

// loadProjects accepts a comma-separated string (as Stitch's UI writes
// lists) or a JSON list of strings.
func loadProjects(raw map[string]json.RawMessage) ([]string, error) {
	v, ok := raw[keyProjects]
	if !ok || jsonType(v) == "null" {
		return nil, nil
	}
	var items []string
	switch jsonType(v) {
	case "string":
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return nil, &Error{Key: keyProjects, Msg: "must be a string"}
		}
		for p := range strings.SplitSeq(s, ",") {
			items = append(items, p)
		}
	case "array":
		if err := json.Unmarshal(v, &items); err != nil {
			return nil, &Error{Key: keyProjects, Msg: "must be a list of project keys (strings)"}
		}
	default:
		return nil, &Error{Key: keyProjects, Msg: "must be a comma-separated string or a list of project keys, got " + jsonType(v)}
	}
	var keys []string
	for _, p := range items {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if !projectKey.MatchString(p) {
			return nil, &Error{Key: keyProjects, Msg: fmt.Sprintf("%q is not a project key (letters, digits and underscores, starting with a letter)", echo(p))}
		}
		keys = append(keys, strings.ToUpper(p))
	}
	return keys, nil
}

func loadNumber(raw map[string]json.RawMessage, key string, def, lo, hi float64) (float64, error) {
	v, ok := raw[key]
	if !ok || jsonType(v) == "null" {
		return def, nil
	}
	var n float64
	switch jsonType(v) {
	case "number":
		if err := json.Unmarshal(v, &n); err != nil {
			return 0, &Error{Key: key, Msg: "must be a number"}
		}
	case "string":
		var s string
		_ = json.Unmarshal(v, &s)
		if strings.TrimSpace(s) == "" {
			return def, nil
		}
		if _, err := fmt.Sscan(strings.TrimSpace(s), &n); err != nil {
			return 0, &Error{Key: key, Msg: fmt.Sprintf("%q is not a number", echo(s))}
		}
	default:
		return 0, &Error{Key: key, Msg: "must be a number, got " + jsonType(v)}
	}
	if math.IsNaN(n) || n < lo || n > hi {
		return 0, &Error{Key: key, Msg: fmt.Sprintf("must be between %v and %v, got %v", lo, hi, n)}
	}
	return n, nil
}

func loadInt(raw map[string]json.RawMessage, key string, def, lo, hi int) (int, error) {
	n, err := loadNumber(raw, key, float64(def), float64(lo), float64(hi))
	if err != nil {
		return 0, err
	}
	if n != math.Trunc(n) {
		return 0, &Error{Key: key, Msg: fmt.Sprintf("must be a whole number, got %v", n)}
	}
	return int(n), nil
}
