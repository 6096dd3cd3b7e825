package schema

import (
	"errors"
	"fmt"
	"maps"
	"slices"
)

// forbidden lists keywords a stream schema must not use, with the reason.
// The draft-4 metaschema check in Compile catches the rest (boolean schemas,
// a numeric exclusiveMinimum, unknown type names, ...).
var forbidden = map[string]string{
	"$ref":          "references are not allowed: a SCHEMA message must be self-contained",
	"definitions":   "definitions are not allowed: a SCHEMA message must be self-contained",
	"$schema":       "$schema is not allowed: schemas are compiled as draft 4",
	"id":            "id (base URI) is not allowed: a SCHEMA message must be self-contained",
	"$id":           "$id is not allowed: a SCHEMA message must be self-contained",
	"const":         "const is not draft 4 (use a one-value enum)",
	"contains":      "contains is not draft 4",
	"propertyNames": "propertyNames is not draft 4",
	"if":            "if/then/else is not draft 4",
	"then":          "if/then/else is not draft 4",
	"else":          "if/then/else is not draft 4",
}

// checkTopLevel enforces what the Singer spec requires of a stream schema.
func checkTopLevel(doc map[string]any) error {
	if t, ok := doc["type"].(string); !ok || t != "object" {
		return errors.New(`top level must have "type": "object"`)
	}
	if _, ok := doc["properties"].(map[string]any); !ok {
		return errors.New(`top level must have "properties" (an object)`)
	}
	return nil
}

// checkDraft4 walks every subschema (not property names) and rejects the
// forbidden keywords; ptr is the JSON pointer of node within the document.
func checkDraft4(node map[string]any, ptr string) error {
	for _, k := range sortedKeys(node) {
		if why, bad := forbidden[k]; bad {
			return fmt.Errorf("%s/%s: %s", ptr, escapePointer(k), why)
		}
	}
	sub := func(v any, at string) error {
		m, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: a subschema must be an object", at)
		}
		return checkDraft4(m, at)
	}
	subs := func(v any, at string) error {
		arr, ok := v.([]any)
		if !ok {
			return fmt.Errorf("%s: must be an array of schemas", at)
		}
		for i, e := range arr {
			if err := sub(e, fmt.Sprintf("%s/%d", at, i)); err != nil {
				return err
			}
		}
		return nil
	}
	schemaMap := func(v any, at string) error {
		m, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: must be an object of schemas", at)
		}
		for _, k := range sortedKeys(m) {
			if err := sub(m[k], at+"/"+escapePointer(k)); err != nil {
				return err
			}
		}
		return nil
	}

	for _, k := range sortedKeys(node) {
		v, at := node[k], ptr+"/"+escapePointer(k)
		var err error
		switch k {
		case "properties", "patternProperties":
			err = schemaMap(v, at)
		case "additionalProperties", "additionalItems":
			if _, isBool := v.(bool); !isBool {
				err = sub(v, at)
			}
		case "items":
			if _, isArr := v.([]any); isArr {
				err = subs(v, at)
			} else {
				err = sub(v, at)
			}
		case "allOf", "anyOf", "oneOf":
			err = subs(v, at)
		case "not":
			err = sub(v, at)
		case "dependencies":
			m, ok := v.(map[string]any)
			if !ok {
				err = fmt.Errorf("%s: must be an object", at)
				break
			}
			for _, dk := range sortedKeys(m) {
				if _, isArr := m[dk].([]any); isArr {
					continue // property dependency: a list of names
				}
				if err = sub(m[dk], at+"/"+escapePointer(dk)); err != nil {
					break
				}
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func sortedKeys(m map[string]any) []string { return slices.Sorted(maps.Keys(m)) }
