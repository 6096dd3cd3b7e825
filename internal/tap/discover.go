// Package tap orchestrates discovery and sync: it joins the stream
// declarations, the bundled schemas and the user's catalog, and writes
// Singer messages. It knows nothing of flags or HTTP clients.
package tap

import (
	"fmt"
	"slices"

	"github.com/tap-jira/tap-jira/internal/jira"
	"github.com/tap-jira/tap-jira/internal/schema"
	"github.com/tap-jira/tap-jira/internal/singer"
	"github.com/tap-jira/tap-jira/internal/streams"
)

// Discover builds the catalog of every stream from the bundled schemas and
// the site's issue fields (GET /field; nil leaves the issues schema static).
// Each custom field is typed into the issues schema, under fields or, with
// flatten, as a top-level column, and its metadata entry carries its id,
// display name and Jira schema.
func Discover(schemas map[string]*schema.Schema, fields []jira.Field, flatten bool) (*singer.Catalog, error) {
	cat := &singer.Catalog{Streams: []*singer.CatalogStream{}}
	for _, st := range streams.All() {
		sch, ok := schemas[st.Name]
		if !ok {
			return nil, fmt.Errorf("building catalog: no schema for stream %q", st.Name)
		}
		doc := sch.Doc()
		var custom []singer.MetadataEntry
		if st.Name == issueStream {
			var err error
			if custom, err = addCustomFields(doc, fields, flatten); err != nil {
				return nil, fmt.Errorf("building catalog: %w", err)
			}
		}
		md, err := metadata(st, doc)
		if err != nil {
			return nil, fmt.Errorf("building catalog: %w", err)
		}
		md = mergeMetadata(md, custom)
		cat.Streams = append(cat.Streams, &singer.CatalogStream{
			TapStreamID:   st.Name,
			Stream:        st.Name,
			KeyProperties: st.KeyProperties,
			Schema:        doc,
			Metadata:      md,
		})
	}
	return cat, nil
}

func metadata(st streams.Stream, doc map[string]any) ([]singer.MetadataEntry, error) {
	props, _ := doc["properties"].(map[string]any)
	root := singer.Metadata{
		Inclusion:               singer.InclusionAvailable,
		SelectedByDefault:       new(false),
		TableKeyProperties:      st.KeyProperties,
		ForcedReplicationMethod: st.ReplicationMethod(),
		ParentTapStreamID:       st.Parent,
	}
	automatic := slices.Clone(st.KeyProperties)
	if st.ReplicationKey != "" {
		root.ValidReplicationKeys = []string{st.ReplicationKey}
		automatic = append(automatic, st.ReplicationKey)
	}
	for _, name := range automatic {
		if _, ok := props[name]; !ok {
			return nil, fmt.Errorf("stream %s: key %q is not a property of its schema", st.Name, name)
		}
	}
	entries := []singer.MetadataEntry{{Breadcrumb: []string{}, Metadata: root}}
	for name := range props {
		m := singer.Metadata{Inclusion: singer.InclusionAvailable, SelectedByDefault: new(true)}
		if slices.Contains(automatic, name) {
			m = singer.Metadata{Inclusion: singer.InclusionAutomatic}
		}
		entries = append(entries, singer.MetadataEntry{Breadcrumb: singer.PropertyBreadcrumb(name), Metadata: m})
	}
	singer.SortMetadata(entries)
	return entries, nil
}

// mergeMetadata adds entries to md: an entry for a breadcrumb md already
// has lends it its Extra keys, the others are appended.
func mergeMetadata(md, entries []singer.MetadataEntry) []singer.MetadataEntry {
	for _, e := range entries {
		i := slices.IndexFunc(md, func(m singer.MetadataEntry) bool { return slices.Equal(m.Breadcrumb, e.Breadcrumb) })
		if i >= 0 {
			md[i].Metadata.Extra = e.Metadata.Extra
			continue
		}
		md = append(md, e)
	}
	singer.SortMetadata(md)
	return md
}
