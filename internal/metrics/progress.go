package metrics

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// IsTerminal reports whether w is a character device (a terminal), where a
// person watches; pipes and files get no progress lines.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// Progress writes a line of how far a sync has come: records per stream so
// far, requests and retries.
type Progress struct {
	Out    io.Writer
	Counts func() ([]string, map[string]int64) // streams in order and records written
	Stats  func() (requests, retries int64)
	Start  time.Time
}

// Run writes a line at every tick until ctx ends.
func (p *Progress) Run(ctx context.Context, tick <-chan time.Time) {
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick:
			_, _ = io.WriteString(p.Out, p.Line(now))
		}
	}
}

// Line formats the progress at now, e.g.
// "progress: 12s, records: projects 3, issues 1200, requests 43, retries 1".
func (p *Progress) Line(now time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, "progress: %s, records:", now.Sub(p.Start).Round(time.Second))
	names, counts := p.Counts()
	if len(names) == 0 {
		b.WriteString(" none yet")
	}
	for i, s := range names {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, " %s %d", s, counts[s])
	}
	req, retries := p.Stats()
	fmt.Fprintf(&b, ", requests %d, retries %d\n", req, retries)
	return b.String()
}
