package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tap-jira/tap-jira/internal/jirasim"
	"github.com/tap-jira/tap-jira/internal/schema"
	"github.com/tap-jira/tap-jira/internal/singer/singertest"
)

// secretSiteConfig is the config of a simulated site whose API token is
// the test's secret, so a successful run can be searched for it.
func secretSiteConfig(t *testing.T) string {
	t.Helper()
	sim := jirasim.New(jirasim.Options{Flavor: jirasim.Cloud, TZ: time.UTC, Email: "sim@example.com", Token: secret,
		Gen: jirasim.GenOptions{Seed: 3, Issues: 5, Projects: 1, Users: 3, Now: syncNow}})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return writeFile(t, "config.json", fmt.Sprintf(`{"base_url": %q, "username": "sim@example.com", "password": %q}`, srv.URL, secret))
}

// issueRequest is a request for full issues as the simulated site received
// it: its method, path and the fields it asked for.
type issueRequest struct {
	method, path string
	fields       []string
}

// recorder sits in front of a simulated site: it records the issue
// requests and lets a test replace the answer of GET /field.
type recorder struct {
	next  http.Handler
	field func(w http.ResponseWriter, r *http.Request) // nil: the site answers
	mu    sync.Mutex
	reqs  []issueRequest
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if rec.field != nil && r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/rest/api/2/field") {
		rec.field(w, r)
		return
	}
	switch {
	case strings.HasSuffix(r.URL.Path, "/search/jql"), strings.HasSuffix(r.URL.Path, "/rest/api/2/search"), strings.HasSuffix(r.URL.Path, "/issue/bulkfetch"):
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		var fields []string
		if r.Method == http.MethodPost {
			var b struct {
				Fields []string `json:"fields"`
			}
			_ = json.Unmarshal(body, &b)
			fields = b.Fields
		} else {
			for _, v := range r.URL.Query()["fields"] {
				fields = append(fields, strings.Split(v, ",")...)
			}
		}
		rec.mu.Lock()
		rec.reqs = append(rec.reqs, issueRequest{method: r.Method, path: r.URL.Path, fields: fields})
		rec.mu.Unlock()
	}
	rec.next.ServeHTTP(w, r)
}

// fullIssueRequests returns the requests for full issues (not the id-only
// search of a parallel Cloud sync).
func (rec *recorder) fullIssueRequests() []issueRequest {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	var out []issueRequest
	for _, r := range rec.reqs {
		if !slices.Equal(r.fields, []string{"id"}) {
			out = append(out, r)
		}
	}
	return out
}

// recordedSite serves a simulated site behind a recorder.
func recordedSite(t *testing.T, flavor jirasim.Flavor, issues int) (*site, *recorder) {
	t.Helper()
	sim := jirasim.New(jirasim.Options{Flavor: flavor, TZ: time.UTC, Email: "sim@example.com", Token: "sim-token",
		Gen: jirasim.GenOptions{Seed: 7, Issues: issues, Projects: 2, Users: 10, Now: syncNow}})
	rec := &recorder{next: sim}
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	return &site{sim: sim, url: srv.URL}, rec
}

// simFields reads the site's GET /field the way a client would, apart from
// the tap.
func simFields(t *testing.T, url string) []map[string]any {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url+"/rest/api/2/field", nil)
	require.NoError(t, err)
	req.SetBasicAuth("sim@example.com", "sim-token")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var out []map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	return out
}

type catalogDoc struct {
	Streams []struct {
		TapStreamID string         `json:"tap_stream_id"`
		Schema      map[string]any `json:"schema"`
		Metadata    []struct {
			Breadcrumb []string       `json:"breadcrumb"`
			Metadata   map[string]any `json:"metadata"`
		} `json:"metadata"`
	} `json:"streams"`
}

func discoverCatalog(t *testing.T, cfg string) (catalogDoc, string) {
	t.Helper()
	res := runTap(t, t.Context(), "--config", cfg, "--discover")
	require.Equal(t, ExitOK, res.code, res.stderr)
	var cat catalogDoc
	require.NoError(t, json.Unmarshal([]byte(res.stdout), &cat))
	return cat, res.stdout
}

func issuesEntry(t *testing.T, cat catalogDoc) int {
	t.Helper()
	for i, s := range cat.Streams {
		if s.TapStreamID == "issues" {
			return i
		}
	}
	t.Fatal("no issues stream in the catalog")
	return -1
}

// wantCustom is jira-sim's custom fields, typed and named as the README's
// rules say, written out independently of the code.
var wantCustom = []struct {
	id, name, column string
	types            []any
	format           string
	items            []any // element types of an array
}{
	{"customfield_10020", "Story Points", "story_points_10020", []any{"null", "number"}, "", nil},
	{"customfield_10021", "Équipe — notes 📝", "equipe_notes_10021", []any{"null", "string"}, "", nil},
	{"customfield_10022", "Severity", "severity_10022", []any{"null", "object"}, "", nil},
	{"customfield_10023", "Tags (legacy)", "tags_legacy_10023", []any{"null", "array"}, "", []any{"null", "string"}},
	{"customfield_10024", "Affected platforms", "affected_platforms_10024", []any{"null", "array"}, "", []any{"null", "object"}},
	{"customfield_10025", "Reviewer 👀", "reviewer_10025", []any{"null", "object"}, "", nil},
	{"customfield_10026", "Target date", "target_date_10026", []any{"null", "string"}, "date", nil},
	{"customfield_10027", "Deployed at", "deployed_at_10027", []any{"null", "string"}, "date-time", nil},
	{"customfield_10028", "顧客名 \"Customer\" & Co", "customer_co_10028", []any{"null", "string"}, "", nil},
}

func TestDiscoverCustomFields(t *testing.T) {
	t.Parallel()
	for _, flatten := range []bool{false, true} {
		for _, flavor := range []jirasim.Flavor{jirasim.Cloud, jirasim.DataCenter} {
			t.Run(fmt.Sprintf("%s/flatten=%v", flavor, flatten), func(t *testing.T) {
				t.Parallel()
				s := newSite(t, flavor, "UTC", 10)
				// Every custom field of the site's /field is in the table.
				var simCustom []string
				for _, f := range simFields(t, s.url) {
					if f["custom"] == true {
						simCustom = append(simCustom, f["id"].(string))
					}
				}
				var ids []string
				for _, w := range wantCustom {
					ids = append(ids, w.id)
				}
				require.ElementsMatch(t, simCustom, ids, "the table covers jira-sim's custom fields")

				cat, raw := discoverCatalog(t, s.config(t, "2025-11-28T00:00:00Z", fmt.Sprintf(`, "flatten_custom_fields": %v`, flatten)))
				singertest.Check(t, "discover", "--catalog", writeFile(t, "catalog.json", raw))
				is := cat.Streams[issuesEntry(t, cat)]
				props := is.Schema["properties"].(map[string]any)
				nested := props["fields"].(map[string]any)["properties"].(map[string]any)
				md := map[string]map[string]any{}
				for _, m := range is.Metadata {
					md[strings.Join(m.Breadcrumb, "/")] = m.Metadata
				}
				for _, w := range wantCustom {
					bc := "properties/fields/properties/" + w.id
					sub, _ := nested[w.id].(map[string]any)
					if flatten {
						bc = "properties/" + w.column
						sub, _ = props[w.column].(map[string]any)
						assert.NotContains(t, nested, w.id, "a flattened field is not in fields too")
					} else {
						assert.NotContains(t, props, w.column)
					}
					require.NotNil(t, sub, "%s has no schema at %s", w.id, bc)
					assert.Equal(t, w.types, sub["type"], w.id)
					if w.format != "" {
						assert.Equal(t, w.format, sub["format"], w.id)
					} else {
						assert.NotContains(t, sub, "format", w.id)
					}
					if w.items != nil {
						assert.Equal(t, w.items, sub["items"].(map[string]any)["type"], w.id)
					}
					m := md[bc]
					require.NotNil(t, m, "no metadata entry for %s", bc)
					assert.Equal(t, w.name, m["tap-jira.name"])
					assert.Equal(t, w.id, m["tap-jira.field-id"])
					assert.Equal(t, "available", m["inclusion"])
					assert.Equal(t, true, m["selected-by-default"])
					js := m["tap-jira.jira-schema"].(map[string]any)
					assert.Contains(t, js["custom"], "com.atlassian.jira.plugin.system.customfieldtypes:")
					assert.Equal(t, strings.TrimPrefix(w.id, "customfield_"), fmt.Sprint(js["customId"]))
				}
			})
		}
	}
}

// syncIssues discovers, selects issues (and the given children), lets
// edit change the catalog, syncs and returns the output and the catalog.
func syncIssues(t *testing.T, s *site, extra string, edit func(cat map[string]any), children ...string) (output, string) {
	t.Helper()
	cfg := s.config(t, "2024-01-01T00:00:00Z", extra)
	catalog := selectAll(t, cfg, append([]string{"issues"}, children...)...)
	if edit != nil {
		var cat map[string]any
		require.NoError(t, json.Unmarshal([]byte(readFile(t, catalog)), &cat))
		edit(cat)
		catalog = writeFile(t, "catalog.json", mustJSON(t, cat))
	}
	res := runTap(t, t.Context(), "--config", cfg, "--catalog", catalog)
	require.Equal(t, ExitOK, res.code, res.stderr)
	singertest.Check(t, "sync", "--messages", writeFile(t, "out.jsonl", res.stdout), "--catalog", catalog)
	return parseOutput(t, res.stdout), catalog
}

// issuesSchemaOf compiles the issues schema of a catalog file.
func issuesSchemaOf(t *testing.T, catalog string) *schema.Schema {
	t.Helper()
	var cat catalogDoc
	require.NoError(t, json.Unmarshal([]byte(readFile(t, catalog)), &cat))
	sch, err := schema.Compile("issues", cat.Streams[issuesEntry(t, cat)].Schema)
	require.NoError(t, err)
	return sch
}

func TestSyncCustomFieldsMatchTheirTypes(t *testing.T) {
	t.Parallel()
	for _, flavor := range []jirasim.Flavor{jirasim.Cloud, jirasim.DataCenter} {
		t.Run(string(flavor), func(t *testing.T) {
			t.Parallel()
			s := newSite(t, flavor, "Asia/Kolkata", 150)
			nested, nestedCat := syncIssues(t, s, "", nil)
			flat, flatCat := syncIssues(t, s, `, "flatten_custom_fields": true`, nil)
			require.NotEmpty(t, nested.records["issues"])
			require.Len(t, flat.records["issues"], len(nested.records["issues"]))

			for _, tc := range []struct {
				name    string
				out     output
				catalog string
				value   func(rec map[string]any, id, column string) (any, bool)
				pointer func(id, column string) string
			}{
				{"nested", nested, nestedCat, func(rec map[string]any, id, _ string) (any, bool) {
					v, ok := rec["fields"].(map[string]any)[id]
					return v, ok
				}, func(id, _ string) string { return "/fields/" + id }},
				{"flattened", flat, flatCat, func(rec map[string]any, _, column string) (any, bool) {
					v, ok := rec[column]
					return v, ok
				}, func(_, column string) string { return "/" + column }},
			} {
				sch := issuesSchemaOf(t, tc.catalog)
				seen := map[string]int{}
				for _, rec := range tc.out.records["issues"] {
					rec := jsonRoundTrip(t, rec)
					require.NoError(t, sch.Validate(rec, fmt.Sprint(rec["id"])), "%s: records validate against the discovered schema", tc.name)
					for _, w := range wantCustom {
						v, ok := tc.value(rec, w.id, w.column)
						if !ok || v == nil {
							continue
						}
						seen[w.id]++
						// A value of the wrong type is caught at the field.
						bad := jsonRoundTrip(t, rec)
						wrong := any(json.Number("42"))
						if w.types[1] == "number" {
							wrong = "forty-two"
						}
						if _, isFlat := bad[w.column]; isFlat {
							bad[w.column] = wrong
						} else {
							bad["fields"].(map[string]any)[w.id] = wrong
						}
						err := sch.Validate(bad, "mutated")
						require.Error(t, err, "%s: %s = %v must not validate", tc.name, w.id, wrong)
						assert.Contains(t, err.Error(), tc.pointer(w.id, w.column))
						if w.format == "date-time" {
							assert.Regexp(t, `^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`, v, "date-times are RFC 3339 UTC")
						}
						if w.format == "date" {
							assert.Regexp(t, `^\d{4}-\d\d-\d\d$`, v, "dates pass through")
						}
					}
				}
				for _, w := range wantCustom {
					assert.Positive(t, seen[w.id], "%s: some issue has a value for %s", tc.name, w.id)
				}
			}

			// The flattened layout holds the same values, once.
			byID := map[string]map[string]any{}
			for _, rec := range nested.records["issues"] {
				byID[fmt.Sprint(rec["id"])] = rec
			}
			for _, rec := range flat.records["issues"] {
				n := byID[fmt.Sprint(rec["id"])]
				require.NotNil(t, n)
				for _, w := range wantCustom {
					nv, nok := n["fields"].(map[string]any)[w.id]
					fv, fok := rec[w.column]
					assert.Equal(t, nok, fok, "%s of issue %v", w.column, rec["id"])
					assert.Equal(t, nv, fv, "%s of issue %v", w.column, rec["id"])
					assert.NotContains(t, rec["fields"], w.id, "flattened fields leave fields")
				}
			}
		})
	}
}

func jsonRoundTrip(t *testing.T, v any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var out map[string]any
	require.NoError(t, dec.Decode(&out))
	return out
}

// deselectEntry marks a catalog entry selected: false, adding it if the
// catalog has none at that breadcrumb, as a user's catalog tool would.
func deselectEntry(cat map[string]any, bc ...string) {
	for _, s := range cat["streams"].([]any) {
		sm := s.(map[string]any)
		if sm["tap_stream_id"] != "issues" {
			continue
		}
		for _, m := range sm["metadata"].([]any) {
			mm := m.(map[string]any)
			if slices.Equal(toStrings(mm["breadcrumb"].([]any)), bc) {
				mm["metadata"].(map[string]any)["selected"] = false
				return
			}
		}
		sm["metadata"] = append(sm["metadata"].([]any), map[string]any{"breadcrumb": toAny(bc), "metadata": map[string]any{"selected": false}})
	}
}

func toStrings(a []any) []string {
	out := make([]string, len(a))
	for i, v := range a {
		out[i], _ = v.(string)
	}
	return out
}

// catalogFieldIDs lists the Jira fields an issues catalog declares: the
// properties of fields and the ids behind flattened columns.
func catalogFieldIDs(t *testing.T, catalog string) map[string]string {
	t.Helper()
	var cat catalogDoc
	require.NoError(t, json.Unmarshal([]byte(readFile(t, catalog)), &cat))
	is := cat.Streams[issuesEntry(t, cat)]
	out := map[string]string{} // id → breadcrumb
	for id := range is.Schema["properties"].(map[string]any)["fields"].(map[string]any)["properties"].(map[string]any) {
		out[id] = "properties/fields/properties/" + id
	}
	for _, m := range is.Metadata {
		if id, ok := m.Metadata["tap-jira.field-id"].(string); ok {
			out[id] = strings.Join(m.Breadcrumb, "/")
		}
	}
	return out
}

func TestOnlySelectedFieldsAreRequested(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		flavor   jirasim.Flavor
		extra    string
		children []string
		drop     [][]string
		// want is the fields every full-issue request asks for: nil means
		// every field the catalog declares but the dropped ones, plus
		// updated and, with issue_comments, comment.
		want   []string
		absent []string // fields no record may carry
	}{
		{name: "nothing deselected: all fields but worklogs", flavor: jirasim.Cloud, children: []string{"issue_comments", "changelogs"}, want: []string{"*all", "-worklog"}},
		{name: "nothing deselected, flattened: all fields but worklogs and comments", flavor: jirasim.DataCenter, extra: `, "flatten_custom_fields": true`,
			want: []string{"*all", "-comment", "-worklog"}},
		{name: "nested deselections, Cloud sequential", flavor: jirasim.Cloud, extra: `, "max_concurrency": 1`, children: []string{"issue_comments"},
			drop:   [][]string{{"properties", "fields", "properties", "description"}, {"properties", "fields", "properties", "customfield_10021"}, {"properties", "fields", "properties", "updated"}},
			absent: []string{"description", "customfield_10021", "updated"}},
		{name: "nested deselections, Cloud parallel", flavor: jirasim.Cloud, children: []string{"changelogs", "issue_transitions"},
			drop:   [][]string{{"properties", "fields", "properties", "customfield_10022"}, {"properties", "fields", "properties", "assignee"}},
			absent: []string{"customfield_10022", "assignee"}},
		{name: "nested deselections, Data Center", flavor: jirasim.DataCenter, children: []string{"issue_comments"},
			drop:   [][]string{{"properties", "fields", "properties", "labels"}},
			absent: []string{"labels"}},
		{name: "flattened column deselected", flavor: jirasim.Cloud, extra: `, "flatten_custom_fields": true`,
			drop: [][]string{{"properties", "story_points_10020"}}},
		{name: "fields deselected, flattened columns kept", flavor: jirasim.DataCenter, extra: `, "flatten_custom_fields": true`, children: []string{"issue_comments"},
			drop: [][]string{{"properties", "fields"}},
			want: []string{"comment", "customfield_10020", "customfield_10021", "customfield_10022", "customfield_10023", "customfield_10024",
				"customfield_10025", "customfield_10026", "customfield_10027", "customfield_10028", "updated"}},
		{name: "issues read only for comments", flavor: jirasim.Cloud, children: []string{"issue_comments"}, want: []string{"comment", "updated"}},
		{name: "issues read only for status history", flavor: jirasim.DataCenter, children: []string{"issue_status_history"}, want: []string{"created", "creator", "status", "updated"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, rec := recordedSite(t, tc.flavor, 120)
			onlyChildren := strings.HasPrefix(tc.name, "issues read only for")
			cfg := s.config(t, "2024-01-01T00:00:00Z", tc.extra)
			streams := append([]string{"issues"}, tc.children...)
			if onlyChildren {
				streams = tc.children
			}
			catalog := selectAll(t, cfg, streams...)
			var cat map[string]any
			require.NoError(t, json.Unmarshal([]byte(readFile(t, catalog)), &cat))
			for _, bc := range tc.drop {
				deselectEntry(cat, bc...)
			}
			catalog = writeFile(t, "catalog.json", mustJSON(t, cat))
			want := tc.want
			if want == nil {
				dropped := map[string]bool{}
				for _, bc := range tc.drop {
					dropped[strings.Join(bc, "/")] = true
				}
				set := map[string]bool{"updated": true}
				if slices.Contains(tc.children, "issue_comments") {
					set["comment"] = true
				}
				for id, bc := range catalogFieldIDs(t, catalog) {
					if !dropped[bc] {
						set[id] = true
					}
				}
				want = slices.Sorted(maps.Keys(set))
			}
			res := runTap(t, t.Context(), "--config", cfg, "--catalog", catalog)
			require.Equal(t, ExitOK, res.code, res.stderr)
			singertest.Check(t, "sync", "--messages", writeFile(t, "out.jsonl", res.stdout), "--catalog", catalog)
			reqs := rec.fullIssueRequests()
			require.NotEmpty(t, reqs)
			for _, r := range reqs {
				got := slices.Clone(r.fields)
				slices.Sort(got)
				assert.Equal(t, want, got, "%s %s", r.method, r.path)
			}
			out := parseOutput(t, res.stdout)
			if onlyChildren {
				assert.Empty(t, out.records["issues"])
				assert.NotEmpty(t, out.records[tc.children[0]])
				return
			}
			require.NotEmpty(t, out.records["issues"])
			for _, is := range out.records["issues"] {
				for _, f := range tc.absent {
					assert.NotContains(t, is["fields"], f)
				}
				assert.NotEmpty(t, is["updated"], "the replication key is always there")
			}
		})
	}
}

// TestLongFieldListIsPosted discovers a site with 600 custom fields and
// deselects one, so the explicit field list is far longer than a URL may
// be: every issue request must carry it in a POST body.
func TestLongFieldListIsPosted(t *testing.T) {
	t.Parallel()
	for _, flavor := range []jirasim.Flavor{jirasim.Cloud, jirasim.DataCenter} {
		t.Run(string(flavor), func(t *testing.T) {
			t.Parallel()
			s, rec := recordedSite(t, flavor, 40)
			base := simFields(t, s.url)
			rec.field = func(w http.ResponseWriter, _ *http.Request) {
				all := slices.Clone(base)
				for i := range 600 {
					all = append(all, map[string]any{"id": fmt.Sprintf("customfield_%d", 20000+i), "name": fmt.Sprintf("Plugin field with a long display name %d", i),
						"custom": true, "schema": map[string]any{"type": "string", "custom": "com.example.app:text", "customId": 20000 + i}})
				}
				w.Header().Set("Content-Type", "application/json")
				_ = json.NewEncoder(w).Encode(all)
			}
			out, _ := syncIssues(t, s, "", func(cat map[string]any) {
				deselectEntry(cat, "properties", "fields", "properties", "summary")
			})
			require.NotEmpty(t, out.records["issues"])
			reqs := rec.fullIssueRequests()
			require.NotEmpty(t, reqs)
			for _, r := range reqs {
				assert.Equal(t, http.MethodPost, r.method, r.path)
				assert.Greater(t, len(strings.Join(r.fields, ",")), 8<<10, "the list is long")
				assert.Contains(t, r.fields, "customfield_20599")
				assert.NotContains(t, r.fields, "summary")
			}
		})
	}
}

func TestDiscoverWhenFieldsAreUnreadable(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		status int
		code   int
		want   string
	}{
		{"403 falls back to the static schema", http.StatusForbidden, ExitOK, "level=WARN"},
		{"404 falls back to the static schema", http.StatusNotFound, ExitOK, "level=WARN"},
		{"401 is fatal", http.StatusUnauthorized, ExitRuntime, "HTTP 401"},
	}
	static, err := schema.Bundled()
	require.NoError(t, err)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, rec := recordedSite(t, jirasim.Cloud, 10)
			rec.field = func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(`{"errorMessages": ["You may not read fields."], "errors": {}}`))
			}
			res := runTap(t, t.Context(), "--config", s.config(t, "2025-11-28T00:00:00Z", ""), "--discover")
			require.Equal(t, tc.code, res.code, res.stderr)
			assert.Contains(t, res.stderr, tc.want)
			assert.Contains(t, res.stderr, "/rest/api/2/field")
			if tc.code != ExitOK {
				assert.Empty(t, res.stdout)
				return
			}
			singertest.Check(t, "discover", "--catalog", writeFile(t, "catalog.json", res.stdout))
			var cat catalogDoc
			require.NoError(t, json.Unmarshal([]byte(res.stdout), &cat))
			assert.Equal(t, jsonRoundTrip(t, static["issues"].Doc()), jsonRoundTrip(t, cat.Streams[issuesEntry(t, cat)].Schema),
				"the issues schema is the static one")
		})
	}
}

// TestDiscoverWithEveryAuthMethod: discovery reads /field with the
// config's credentials, whatever the method.
func TestDiscoverWithEveryAuthMethod(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		flavor jirasim.Flavor
		oauth  *jirasim.OAuthOptions
		keys   func(s *site) map[string]any
	}{
		{"cloud email and API token", jirasim.Cloud, nil, basicKeys},
		{"cloud scoped API token through the gateway", jirasim.Cloud, nil, scopedKeys},
		{"cloud OAuth 2.0", jirasim.Cloud, &jirasim.OAuthOptions{}, oauthKeys},
		{"data center personal access token", jirasim.DataCenter, nil, patKeys},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := authSite(t, tc.flavor, tc.oauth)
			cat, _ := discoverCatalog(t, authConfig(t, tc.keys(s)))
			nested := cat.Streams[issuesEntry(t, cat)].Schema["properties"].(map[string]any)["fields"].(map[string]any)["properties"].(map[string]any)
			for _, w := range wantCustom {
				assert.Contains(t, nested, w.id)
			}
		})
	}
}

// TestDeselectedInsideRawObjects: the tap keeps objects it does not read
// (users, the project) as raw JSON until output; a field deselected inside
// one must still be left out, and the rest of the object kept.
func TestDeselectedInsideRawObjects(t *testing.T) {
	t.Parallel()
	for _, flavor := range []jirasim.Flavor{jirasim.Cloud, jirasim.DataCenter} {
		t.Run(string(flavor), func(t *testing.T) {
			t.Parallel()
			s, _ := recordedSite(t, flavor, 120)
			cfg := s.config(t, "2024-01-01T00:00:00Z", "")
			catalog := selectAll(t, cfg, "issues")
			var cat map[string]any
			require.NoError(t, json.Unmarshal([]byte(readFile(t, catalog)), &cat))
			deselectEntry(cat, "properties", "fields", "properties", "assignee", "properties", "avatarUrls")
			deselectEntry(cat, "properties", "fields", "properties", "project", "properties", "avatarUrls")
			catalog = writeFile(t, "catalog.json", mustJSON(t, cat))
			res := runTap(t, t.Context(), "--config", cfg, "--catalog", catalog)
			require.Equal(t, ExitOK, res.code, res.stderr)
			singertest.Check(t, "sync", "--messages", writeFile(t, "out.jsonl", res.stdout), "--catalog", catalog)
			out := parseOutput(t, res.stdout)
			require.NotEmpty(t, out.records["issues"])
			assigned := 0
			for _, is := range out.records["issues"] {
				fields := is["fields"].(map[string]any)
				project := fields["project"].(map[string]any)
				assert.NotContains(t, project, "avatarUrls")
				assert.NotEmpty(t, project["key"])
				if a, ok := fields["assignee"].(map[string]any); ok {
					assigned++
					assert.NotContains(t, a, "avatarUrls")
					assert.NotEmpty(t, a["displayName"])
				}
			}
			require.Positive(t, assigned, "no issue has an assignee to check")
		})
	}
}
