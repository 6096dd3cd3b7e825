package streams

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/tap-jira/tap-jira/internal/jira"
)

// syncProjects reads projects and, for each project in scope, its versions
// and components. The projects are read once whichever of the three is
// selected.
func syncProjects(ctx context.Context, env *Env, sink Sink) error {
	var projects iter.Seq2[[]jira.Record, error]
	q := url.Values{"expand": {"description,lead,issueTypes,url,projectKeys"}}
	if env.Cloud {
		projects = env.Client.Paged(ctx, "rest/api/2/project/search", q, 50)
	} else {
		projects = func(yield func([]jira.Record, error) bool) {
			recs, err := env.Client.List(ctx, "rest/api/2/project", q)
			yield(recs, err)
		}
	}
	type ref struct{ id, key string }
	var inScope []ref
	for page, err := range projects {
		if err != nil {
			return fmt.Errorf("reading projects: %w", err)
		}
		for _, p := range page {
			delete(p, "versions") // unused by Jira, and the versions stream has them
			id, key := fmt.Sprint(p["id"]), fmt.Sprint(p["key"])
			if len(env.Projects) == 0 || slices.Contains(env.Projects, key) {
				inScope = append(inScope, ref{id, key})
			}
			if err := sink.Record("projects", p); err != nil {
				return err
			}
		}
		if err := sink.Checkpoint(); err != nil {
			return err
		}
	}
	// Each project's versions and components are read in parallel with
	// other projects', and written in project order.
	type lists struct {
		project         ref
		versions, comps []jira.Record
	}
	// With concurrency, twice as many projects as requests in flight are
	// read at once, each its two lists side by side: the client holds the
	// requests to max_concurrency, the earliest project's first (they rank
	// by place). Half as many projects as requests in flight stalled the
	// group behind a project with several pages of versions: the projects
	// after it waited for its last page, and the issues, written after
	// this group, waited for them.
	window := 1
	if env.Concurrency > 1 {
		window = 2 * env.Concurrency
	}
	return ordered(ctx, window, slices.Values(inScope), func(ctx context.Context, p ref) (lists, error) {
		l := lists{project: p}
		var fetches []func(context.Context) error
		if sink.Wants("versions") {
			fetches = append(fetches, func(ctx context.Context) error {
				err := forEachPage(env.Client.Paged(ctx, "rest/api/2/project/"+p.id+"/version", url.Values{"orderBy": {"sequence"}}, 50), func(v jira.Record) error {
					normalizeVersion(v)
					l.versions = append(l.versions, v)
					return nil
				})
				return permissionWarning(env, err, "versions", p.key)
			})
		}
		if sink.Wants("components") {
			fetches = append(fetches, func(ctx context.Context) error {
				var pages iter.Seq2[[]jira.Record, error]
				if env.Cloud {
					pages = env.Client.Paged(ctx, "rest/api/2/project/"+p.id+"/component", nil, 50)
				} else {
					pages = func(yield func([]jira.Record, error) bool) {
						recs, err := env.Client.List(ctx, "rest/api/2/project/"+p.id+"/components", nil)
						yield(recs, err)
					}
				}
				err := forEachPage(pages, func(c jira.Record) error {
					l.comps = append(l.comps, c)
					return nil
				})
				return permissionWarning(env, err, "components", p.key)
			})
		}
		// A project's versions and components are two chains of pages
		// (a big project has several of each): read them side by side
		// unless the sync is sequential.
		n := 1
		if env.Concurrency > 1 {
			n = len(fetches)
		}
		return l, each(ctx, n, fetches, func(ctx context.Context, f func(context.Context) error) error { return f(ctx) })
	}, func(l lists) error {
		for _, v := range l.versions {
			if err := sink.Record("versions", v); err != nil {
				return err
			}
		}
		for _, c := range l.comps {
			if err := sink.Record("components", c); err != nil {
				return err
			}
		}
		return sink.Checkpoint()
	})
}

func forEachPage(pages iter.Seq2[[]jira.Record, error], f func(jira.Record) error) error {
	for page, err := range pages {
		if err != nil {
			return err
		}
		for _, r := range page {
			if err := f(r); err != nil {
				return err
			}
		}
	}
	return nil
}

// permissionWarning turns a 403 or 404 on one project's list into a warning:
// Stitch replicates what the user can see, and one hidden project must not
// stop the sync.
func permissionWarning(env *Env, err error, stream, project string) error {
	var apiErr *jira.APIError
	if errors.As(err, &apiErr) && (apiErr.Status == http.StatusForbidden || apiErr.Status == http.StatusNotFound) {
		env.Log.Warn("skipping a project the user cannot read", "stream", stream, "project", project, "status", apiErr.Status)
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading %s of project %s: %w", stream, project, err)
	}
	return nil
}

// normalizeVersion turns Jira's dates into timestamps: releaseDate and
// startDate are plain dates (2026-01-12), and userReleaseDate and
// userStartDate are the same dates formatted for the user's locale
// (12/Jan/26). singer-io/tap-jira parses the latter; the plain date is the
// same day without the locale guesswork.
func normalizeVersion(v jira.Record) {
	for _, pair := range [][2]string{{"releaseDate", "userReleaseDate"}, {"startDate", "userStartDate"}} {
		s, ok := v[pair[0]].(string)
		if !ok {
			delete(v, pair[1])
			continue
		}
		t, err := time.Parse(time.DateOnly, s)
		if err != nil {
			continue // left as is: validation names it if it is not a timestamp
		}
		ts := jira.FormatTime(t)
		v[pair[0]] = ts
		if _, ok := v[pair[1]]; ok {
			v[pair[1]] = ts
		}
	}
}
