package config

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// EnvPrefix starts the environment variable of every setting, as Meltano
// passes them to a plugin named tap-jira: TAP_JIRA_BASE_URL, ...
const EnvPrefix = "TAP_JIRA_"

// EnvConfig is the --config value that reads settings from the environment
// only (the Meltano SDK's convention).
const EnvConfig = "ENV"

// EnvVar returns the environment variable that carries a setting.
func EnvVar(setting string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(setting, "-", "_"))
}

// MergeEnv adds settings from the environment to a config document: for
// every setting of Settings() the document does not have (absent or null),
// the value of its TAP_JIRA_* variable, converted by the setting's type. The
// file wins over the environment, so a config Meltano wrote and the
// variables it exports for the same run cannot disagree silently. doc nil
// means no file: the environment only. An empty variable counts as unset.
//
// It returns the merged document and the keys taken from the environment
// (names only: values may be secrets). When no variable applies, doc comes
// back unchanged, so Load's errors and warnings are exactly the file's. A
// malformed doc is reported as Load reports it; a variable that does not
// convert is an *Error naming the variable, never echoing a secret value.
func MergeEnv(doc []byte, lookup func(string) (string, bool)) ([]byte, []string, error) {
	raw := map[string]json.RawMessage{}
	if doc != nil {
		var err error
		if raw, err = decodeObject(doc); err != nil {
			return nil, nil, err
		}
	}
	var fromEnv []string
	for _, s := range Settings() {
		if v, ok := raw[s.Name]; ok && jsonType(v) != "null" {
			continue
		}
		text, ok := lookup(EnvVar(s.Name))
		if !ok || strings.TrimSpace(text) == "" {
			continue
		}
		v, err := envValue(s, text)
		if err != nil {
			return nil, nil, err
		}
		raw[s.Name] = v
		fromEnv = append(fromEnv, s.Name)
	}
	if len(fromEnv) == 0 {
		return doc, nil, nil
	}
	merged, err := json.Marshal(raw)
	if err != nil {
		return nil, nil, fmt.Errorf("merging environment settings: %w", err)
	}
	slices.Sort(fromEnv)
	return merged, fromEnv, nil
}

// EnvSettings reports which settings have a non-empty TAP_JIRA_* variable.
func EnvSettings(lookup func(string) (string, bool)) []string {
	var names []string
	for _, s := range Settings() {
		if v, ok := lookup(EnvVar(s.Name)); ok && strings.TrimSpace(v) != "" {
			names = append(names, s.Name)
		}
	}
	return names
}

// envValue converts a variable's text to the JSON value of the setting's
// type. Load then judges the value as if the file had held it.
func envValue(s Setting, text string) (json.RawMessage, error) {
	bad := func(want string) error {
		msg := fmt.Sprintf("environment variable %s must be %s", EnvVar(s.Name), want)
		if !s.Secret {
			msg += fmt.Sprintf(", got %q", echo(text))
		}
		return &Error{Key: s.Name, Msg: msg}
	}
	t := strings.TrimSpace(text)
	switch s.Type {
	case "string":
		// Strings keep their spaces: a password may have them.
		b, err := json.Marshal(text)
		if err != nil {
			return nil, bad("valid UTF-8 text")
		}
		return b, nil
	case "integer":
		n, err := strconv.ParseInt(t, 10, 64)
		if err != nil {
			return nil, bad("an integer")
		}
		return json.RawMessage(strconv.FormatInt(n, 10)), nil
	case "number":
		f, err := strconv.ParseFloat(t, 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return nil, bad("a number")
		}
		return json.RawMessage(strconv.FormatFloat(f, 'g', -1, 64)), nil
	case "boolean":
		switch strings.ToLower(t) {
		case "true", "1", "yes", "on", "t", "y":
			return json.RawMessage("true"), nil
		case "false", "0", "no", "off", "f", "n":
			return json.RawMessage("false"), nil
		}
		return nil, bad("true or false")
	case "array":
		// The SDK splits a string array on commas; a JSON list is accepted too.
		if strings.HasPrefix(t, "[") {
			if !json.Valid([]byte(t)) {
				return nil, bad("a JSON list or comma-separated values")
			}
			return json.RawMessage(t), nil
		}
		b, err := json.Marshal(strings.Split(t, ","))
		if err != nil {
			return nil, bad("comma-separated values")
		}
		return b, nil
	default: // object, or a type added later: JSON text
		if !json.Valid([]byte(t)) {
			return nil, bad("JSON")
		}
		return json.RawMessage(t), nil
	}
}
