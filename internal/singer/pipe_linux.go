package singer

import (
	"os"
	"syscall"
)

// fSetPipeSize is F_SETPIPE_SZ of linux/fcntl.h, which package syscall
// does not name.
const fSetPipeSize = 1031

func growPipe(f *os.File) error {
	// Through the raw descriptor: Fd would set it to blocking mode.
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var errno syscall.Errno
	if err := rc.Control(func(fd uintptr) {
		_, _, errno = syscall.Syscall(syscall.SYS_FCNTL, fd, fSetPipeSize, PipeSize)
	}); err != nil {
		return err
	}
	if errno != 0 {
		return errno
	}
	return nil
}
