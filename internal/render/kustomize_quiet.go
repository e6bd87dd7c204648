package render

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
)

// kustomizeWarningPrefix starts each line kustomize prints to os.Stderr
// about a deprecated field, when it loads a kustomization using one.
var kustomizeWarningPrefix = []byte("# Warning: '")

// quietStderr runs fn, a kustomize build, with os.Stderr pointed at a pipe
// that drops kustomize's deprecation warnings and passes every other line
// on to the real stderr.
//
// kustomize prints those warnings itself (fmt.Fprintf(os.Stderr, …) in its
// kustomization loader), with no option to turn them off: in a controller
// they would land in its output on every render, unattributed. The
// renderer reports them instead, as Result.Warnings naming the file (see
// scanKustomization). Swapping the variable is only safe while no other
// kustomize build runs: quietStderr is called inside openAPIGate.exclusive,
// and a build whose kustomizations use deprecated fields runs alone for
// that reason. Anything else in the process that writes to os.Stderr
// meanwhile still reaches it, through the pipe.
func quietStderr(fn func()) {
	r, w, err := os.Pipe()
	if err != nil {
		fn() // no pipe: the warnings are printed, the build still runs
		return
	}
	real := os.Stderr
	done := make(chan struct{})
	go func() {
		defer close(done)
		forwardLines(r, real)
		_ = r.Close()
	}()
	os.Stderr = w
	defer func() {
		os.Stderr = real
		_ = w.Close()
		<-done
	}()
	fn()
}

// forwardLines copies from r to w, but for the lines that are kustomize's
// deprecation warnings. A line longer than the buffer passes as it is.
func forwardLines(r io.Reader, w io.Writer) {
	br := bufio.NewReaderSize(r, 4096)
	atStart := true
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			if !atStart || !bytes.HasPrefix(line, kustomizeWarningPrefix) {
				_, _ = w.Write(line)
			}
			atStart = line[len(line)-1] == '\n'
		}
		switch {
		case err == nil, errors.Is(err, bufio.ErrBufferFull):
			continue
		default:
			return
		}
	}
}
