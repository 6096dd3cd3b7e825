package jsonscan

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStringMember(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		raw, key, want string
		ok             bool
	}{
		{`{"accountId":"5b10","active":true}`, "accountId", "5b10", true},
		{`{"active":true,"avatarUrls":{"16x16":"a","key":"no"},"key":"JIRAUSER1","name":"ann"}`, "key", "JIRAUSER1", true},
		{`{"a":[1,{"key":"x"},"]"],"key":"y"}`, "key", "y", true},
		{`{"accountId":"a\"b"}`, "accountId", "", false}, // escapes: the caller decodes
		{`{"accountId":null}`, "accountId", "", false},
		{`{"accountId":1}`, "accountId", "", false},
		{`{"other":"x"}`, "accountId", "", false},
		{`{}`, "accountId", "", false},
		{`["accountId","x"]`, "accountId", "", false},
		{`{"acc\"ountId":"x","accountId":"y"}`, "accountId", "y", true},
		{`{"accountId":""}`, "accountId", "", true},
	} {
		got, ok := StringMember(Raw(c.raw), c.key)
		assert.Equal(t, c.ok, ok, c.raw)
		assert.Equal(t, c.want, got, c.raw)
	}
}

// FuzzStringMember: in the encoding of any object (canonical bytes, as a
// Raw holds), a value found is the one decoding gives, and a plain string
// value is found.
func FuzzStringMember(f *testing.F) {
	f.Add([]byte(`{"accountId":"5b10","active":true}`), "accountId")
	f.Add([]byte(`{"a":[1,{"key":"x"},"]"],"key":"y"}`), "key")
	f.Fuzz(func(t *testing.T, data []byte, key string) {
		var m map[string]any
		if json.Unmarshal(data, &m) != nil || m == nil {
			return
		}
		canon, err := json.Marshal(m)
		require.NoError(t, err)
		if got, ok := StringMember(Raw(canon), key); ok {
			assert.Equal(t, m[key], got, "%q", canon)
		}
		// In canonical bytes (no whitespace, escapes only where needed) a
		// plain string value is always found.
		if v, isString := m[key].(string); isString && !strings.ContainsAny(v, "\\\"<>&") && !strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r == 0x2028 || r == 0x2029 || r == utf8.RuneError }) && !strings.ContainsAny(key, "\\\"<>&") && utf8.ValidString(key) {
			got, ok := StringMember(Raw(canon), key)
			assert.True(t, ok, "%q in %q", key, canon)
			assert.Equal(t, v, got)
		}
	})
}
