package jira

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
)

// spillFrom is the body size past which a Data Center response whose
// size has no bound is spooled to a temporary file and read from there: an
// issue's changelog (a changelog has no length limit, and Data Center
// gives it whole) and a search page (which may embed every changelog entry
// and comment of its issues). Held in memory, an issue with 100,000
// entries kept 85 MB alive while it was written.
const spillFrom = 2 << 20

// spooled is a response body: in memory, or, past the client's spillFrom,
// in an unlinked temporary file read from its start.
type spooled struct {
	data []byte
	file *os.File
	size int64 // of the body in file
}

// Close lets the file go (it was unlinked when made, or is removed now).
func (s *spooled) Close() {
	if s == nil || s.file == nil {
		return
	}
	name := s.file.Name()
	_ = s.file.Close()
	_ = os.Remove(name) // already gone where unlinking an open file works
}

// sendSpooled is do for a body that may be too long to hold: one past
// the client's spill size comes back as a file. A body cut short is
// retried like any failed request, before anything of it is read.
func (c *Client) sendSpooled(ctx context.Context, method, path string, query url.Values, body any) (*spooled, error) {
	endpoint, rel := target(path, query)
	return retrying(ctx, c, method, endpoint, func() (*spooled, error) {
		return attemptRead(ctx, c, method, endpoint, rel, body, c.spool)
	})
}

// errSpoolWrite marks a failure to write the spool file, as opposed to
// reading the body: the attempt is retried with the body held in memory.
var errSpoolWrite = errors.New("spooling a long response to a temporary file")

// spool reads a body into memory if it is shorter than the client's spill
// size, else into a temporary file (made in os.TempDir, that is $TMPDIR,
// readable by this user only, and unlinked at once so that nothing is
// left behind, even by a killed run). Where no file can be made or
// written, bodies are held in memory from then on, with one warning.
func (c *Client) spool(r io.Reader, size int64) (*spooled, error) {
	limit := c.spillFrom
	if limit <= 0 {
		limit = spillFrom
	}
	if c.noSpool.Load() || (size >= 0 && size < limit) {
		data, err := readBody(r, size)
		return &spooled{data: data}, err
	}
	var head []byte
	if size < 0 { // no announced length: the first bytes tell
		var err error
		if head, err = io.ReadAll(io.LimitReader(r, limit)); err != nil {
			return nil, err
		}
		if int64(len(head)) < limit {
			return &spooled{data: head}, nil
		}
	}
	create := c.createTemp
	if create == nil {
		create = os.CreateTemp
	}
	f, err := create("", "tap-jira-body-*.json")
	if err != nil {
		c.stopSpooling(err)
		rest, err := io.ReadAll(r)
		return &spooled{data: append(head, rest...)}, err
	}
	_ = os.Remove(f.Name())
	w := &spoolWriter{f: f}
	n, err := w.Write(head)
	var copied int64
	if err == nil {
		copied, err = io.Copy(w, r)
	}
	if err != nil {
		s := &spooled{file: f}
		s.Close()
		if errors.Is(err, errSpoolWrite) {
			c.stopSpooling(nil) // the retry says why
		}
		return nil, err
	}
	return &spooled{file: f, size: int64(n) + copied}, nil
}

// stopSpooling holds bodies in memory for the rest of the run, saying so
// once, with why (err) unless the caller returns it.
func (c *Client) stopSpooling(err error) {
	if c.noSpool.Swap(true) {
		return
	}
	args := []any{}
	if err != nil {
		args = append(args, "error", err.Error())
	}
	c.log.Warn("cannot spool long responses to disk; holding them in memory (set TMPDIR to a writable directory with room)", args...)
}

// spoolWriter tells its write errors from the body's read errors.
type spoolWriter struct{ f *os.File }

func (w *spoolWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	if err != nil {
		err = fmt.Errorf("%w: %w", errSpoolWrite, err)
	}
	return n, err
}
