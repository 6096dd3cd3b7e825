// Package tap orchestrates discovery and sync: it joins the stream
// declarations, the bundled schemas and the user's catalog, and writes
// Singer messages. It knows nothing of flags or HTTP clients.
package tap

import (
	"fmt"
	"slices"

	"github.com/tap-jira/tap-jira/internal/schema"
	"github.com/tap-jira/tap-jira/internal/singer"
	"github.com/tap-jira/tap-jira/internal/streams"
)

// Discover builds the catalog of every stream from the bundled schemas. It
// needs no network: the schemas are static.
func Discover(schemas map[string]*schema.Schema) (*singer.Catalog, error) {
	cat := &singer.Catalog{Streams: []*singer.CatalogStream{}}
	for _, st := range streams.All() {
		sch, ok := schemas[st.Name]
		if !ok {
			return nil, fmt.Errorf("building catalog: no schema for stream %q", st.Name)
		}
		doc := sch.Doc()
		md, err := metadata(st, doc)
		if err != nil {
			return nil, fmt.Errorf("building catalog: %w", err)
		}
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
