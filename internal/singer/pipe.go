package singer

import (
	"io"
	"os"
)

// PipeSize is what GrowPipe asks for: Linux's default ceiling for an
// unprivileged process (/proc/sys/fs/pipe-max-size).
const PipeSize = 1 << 20

// GrowPipe enlarges the pipe w writes into, when it is one, from the
// kernel's default of 64 KiB to PipeSize. A tap writes hundreds of MB
// into a target's pipe; with 64 KiB the writer and the target take turns
// sixteen times as often, and the 20k benchmark's sync at 16 requests in
// flight took 3-4% longer (docs/performance.md). Anything else (a file, a
// terminal, a buffer, another OS) is left as it is; the error says why a
// pipe was not grown, for a debug log.
func GrowPipe(w io.Writer) error {
	f, ok := w.(*os.File)
	if !ok {
		return nil
	}
	return growPipe(f)
}
