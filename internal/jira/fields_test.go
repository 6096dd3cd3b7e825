package jira

import (
	"errors"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFields(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		status int
		body   string
		want   []Field
		err    int // APIError status expected, 0 for none
	}{
		{"every shape of entry", 200, `[
			{"id": "summary", "name": "Summary", "custom": false, "schema": {"type": "string", "system": "summary"}},
			{"id": "customfield_10020", "name": "Story Points", "custom": true, "schema": {"type": "number", "custom": "x:float", "customId": 10020}},
			{"id": "customfield_10024", "name": "Platforms", "custom": true, "schema": {"type": "array", "items": "option", "customId": "10024"}},
			{"id": "issuekey", "name": "Key"},
			{"id": "customfield_1", "name": 5, "custom": "yes", "schema": {"type": ["string"], "customId": true}},
			{"name": "no id"}, {"id": 7}]`,
			[]Field{
				{ID: "summary", Name: "Summary", Schema: FieldSchema{Type: "string", System: "summary"}},
				{ID: "customfield_10020", Name: "Story Points", Custom: true, Schema: FieldSchema{Type: "number", Custom: "x:float", CustomID: "10020"}},
				{ID: "customfield_10024", Name: "Platforms", Custom: true, Schema: FieldSchema{Type: "array", Items: "option", CustomID: "10024"}},
				{ID: "issuekey", Name: "Key"},
				{ID: "customfield_1"},
			}, 0},
		{"forbidden", 403, `{"errorMessages": ["no"]}`, nil, 403},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
				assert.Equal(t, "/jira/rest/api/2/field", r.URL.Path)
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			})
			got, err := c.Fields(t.Context())
			if tc.err != 0 {
				var apiErr *APIError
				require.True(t, errors.As(err, &apiErr), "%v", err)
				assert.Equal(t, tc.err, apiErr.Status)
				assert.Contains(t, err.Error(), "reading issue fields")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}
