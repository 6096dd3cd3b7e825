package singer

import (
	"os"
	"syscall"
)

// fcntl commands of linux/fcntl.h that package syscall does not name.
const (
	fSetPipeSize = 1031 // F_SETPIPE_SZ
	fGetPipeSize = 1032 // F_GETPIPE_SZ
)

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

// pipeSize is the size of the pipe f writes into (for tests).
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
