package singer

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestGrowPipe: the pipe a sync writes into holds PipeSize bytes, not the
// kernel's 64 KiB; other outputs are left alone.
func TestGrowPipe(t *testing.T) {
	t.Parallel()
	if b, err := os.ReadFile("/proc/sys/fs/pipe-max-size"); err == nil {
		if max, _ := strconv.Atoi(strings.TrimSpace(string(b))); max < PipeSize {
			t.Skipf("pipe-max-size is %d", max)
		}
	}
	r, w, err := os.Pipe()
	require.NoError(t, err)
	defer r.Close()
	defer w.Close()
	before, err := pipeSize(w)
	require.NoError(t, err)
	require.Less(t, before, PipeSize)
	require.NoError(t, GrowPipe(w))
	after, err := pipeSize(w)
	require.NoError(t, err)
	assert.Equal(t, PipeSize, after)
	// Still usable, and not switched to blocking mode behind the
	// runtime's back: a deadline still applies.
	require.NoError(t, w.SetWriteDeadline(time.Now().Add(time.Hour)))
	_, err = w.Write([]byte("x"))
	require.NoError(t, err)

	f, err := os.Create(filepath.Join(t.TempDir(), "out"))
	require.NoError(t, err)
	defer f.Close()
	assert.Error(t, GrowPipe(f), "a file is no pipe")
	assert.NoError(t, GrowPipe(&bytes.Buffer{}))
}

// fGetPipeSize is F_GETPIPE_SZ of linux/fcntl.h.
const fGetPipeSize = 1032

// pipeSize is the size of the pipe f writes into.
func pipeSize(f *os.File) (int, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return 0, err
	}
	var n uintptr
	var errno syscall.Errno
	if err := rc.Control(func(fd uintptr) {
		n, _, errno = syscall.Syscall(syscall.SYS_FCNTL, fd, fGetPipeSize, 0)
	}); err != nil {
		return 0, err
	}
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}
