package jirasim

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// pageBean writes Jira's PageBean envelope for startAt/maxResults paging.
func pageBean(w http.ResponseWriter, r *http.Request, startAt, n, total int, values []any) {
	self := baseURL(r) + r.URL.Path
	out := map[string]any{
		"self":       self + "?maxResults=" + strconv.Itoa(n) + "&startAt=" + strconv.Itoa(startAt),
		"maxResults": n, "startAt": startAt, "total": total, "values": values,
	}
	last := startAt+len(values) >= total
	out["isLast"] = last
	if !last {
		out["nextPage"] = self + "?maxResults=" + strconv.Itoa(n) + "&startAt=" + strconv.Itoa(startAt+len(values))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) projectSearch(w http.ResponseWriter, r *http.Request) {
	startAt, n, ok := paging(w, r, 50, 100)
	if !ok {
		return
	}
	expand := parseExpand(r.URL.Query()["expand"])
	base := baseURL(r)
	s.mu.RLock()
	defer s.mu.RUnlock()
	values := []any{}
	for _, p := range window(s.data.Projects, startAt, n) {
		values = append(values, s.projectJSON(base, p, expand))
	}
	pageBean(w, r, startAt, n, len(s.data.Projects), values)
}

func (s *Server) projectList(w http.ResponseWriter, r *http.Request) {
	expand := parseExpand(r.URL.Query()["expand"])
	base := baseURL(r)
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := []any{}
	for _, p := range s.data.Projects {
		out = append(out, s.projectJSON(base, p, expand))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) projectFromPath(w http.ResponseWriter, r *http.Request) *Project {
	p := s.projects[strings.ToUpper(r.PathValue("id"))]
	if p == nil {
		writeError(w, http.StatusNotFound, "No project could be found with key '"+r.PathValue("id")+"'.")
		return nil
	}
	if slices.Contains(s.opts.Restricted, p.Key) {
		writeError(w, http.StatusForbidden, "You do not have permission to browse project '"+p.Key+"'.")
		return nil
	}
	return p
}

// projectItems serves one project's versions or components, paged as a
// PageBean or as a bare array.
func (s *Server) projectItems(paged bool, items func(base string, p *Project) []any) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		startAt, n := 0, 0
		if paged {
			var ok bool
			if startAt, n, ok = paging(w, r, 50, 50); !ok {
				return
			}
		}
		s.mu.RLock()
		defer s.mu.RUnlock()
		p := s.projectFromPath(w, r)
		if p == nil {
			return
		}
		all := items(baseURL(r), p)
		if !paged {
			writeJSON(w, http.StatusOK, all)
			return
		}
		pageBean(w, r, startAt, n, len(all), append([]any{}, window(all, startAt, n)...))
	}
}

func versionItems(base string, p *Project) []any {
	out := []any{}
	for _, v := range p.Versions {
		out = append(out, versionJSON(base, p, v))
	}
	return out
}

func (s *Server) componentItems(base string, p *Project) []any {
	out := []any{}
	for _, c := range p.Components {
		out = append(out, s.componentJSON(base, p, c))
	}
	return out
}

func (s *Server) projectCategories(w http.ResponseWriter, r *http.Request) {
	base := baseURL(r)
	out := []any{}
	for _, c := range s.data.Categories {
		out = append(out, categoryJSON(base, c))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) projectTypes(w http.ResponseWriter, _ *http.Request) {
	out := []any{}
	for _, t := range s.data.ProjectTypes {
		out = append(out, projectTypeJSON(t))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) resolutions(w http.ResponseWriter, r *http.Request) {
	base := baseURL(r)
	out := []any{}
	for _, res := range s.data.Resolutions {
		out = append(out, resolutionJSON(base, res))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) roles(w http.ResponseWriter, r *http.Request) {
	base := baseURL(r)
	out := []any{}
	for _, role := range s.data.Roles {
		out = append(out, s.roleJSON(base, role))
	}
	writeJSON(w, http.StatusOK, out)
}

// usersSearch is Cloud's /users/search: a bare array, no isLast; callers
// page until an empty page.
func (s *Server) usersSearch(w http.ResponseWriter, r *http.Request) {
	startAt, n, ok := paging(w, r, 50, 1000)
	if !ok {
		return
	}
	base := baseURL(r)
	out := []any{}
	for _, u := range window(s.data.Users, startAt, n) {
		out = append(out, s.userJSON(base, u))
	}
	writeJSON(w, http.StatusOK, out)
}

// userSearchDC is Data Center's /user/search?username=. (a dot matches
// everyone).
func (s *Server) userSearchDC(w http.ResponseWriter, r *http.Request) {
	startAt, n, ok := paging(w, r, 50, 1000)
	if !ok {
		return
	}
	q := strings.ToLower(r.URL.Query().Get("username"))
	if q == "" {
		writeError(w, http.StatusBadRequest, "The username query parameter was not provided")
		return
	}
	var match []*User
	for _, u := range s.data.Users {
		if q == "." || strings.Contains(strings.ToLower(u.Name), q) || strings.Contains(strings.ToLower(u.DisplayName), q) {
			match = append(match, u)
		}
	}
	base := baseURL(r)
	out := []any{}
	for _, u := range window(match, startAt, n) {
		out = append(out, s.userJSON(base, u))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) fields(w http.ResponseWriter, _ *http.Request) {
	out := []any{}
	for _, f := range s.data.Fields {
		out = append(out, fieldJSON(f))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) myself(w http.ResponseWriter, r *http.Request) {
	me := *s.data.Users[0]
	me.TimeZone = s.loc.String()
	writeJSON(w, http.StatusOK, s.userJSON(baseURL(r), &me))
}

func (s *Server) serverInfo(w http.ResponseWriter, r *http.Request) {
	dt, version := "Cloud", "1001.0.0-SNAPSHOT"
	if s.opts.Flavor == DataCenter {
		dt, version = "DataCenter", "10.3.1"
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"baseUrl": baseURL(r), "version": version, "deploymentType": dt,
		"buildNumber": 100285, "serverTime": s.ts(s.Now()), "serverTitle": "jira-sim",
	})
}
