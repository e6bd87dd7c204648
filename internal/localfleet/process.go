package localfleet

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"time"
)

// process is one running component of a cluster.
type process struct {
	Component string   `json:"component"`
	PID       int      `json:"pid"`
	Log       string   `json:"log"`
	Bin       string   `json:"bin"`
	Args      []string `json:"args,omitempty"`
	Detached  bool     `json:"detached,omitempty"`

	// exited is closed when the process ends; nil for a process found again
	// through Load, which is not our child.
	exited chan struct{}
	err    error
}

// spawner starts processes from one goroutine locked to its OS thread. The
// parent-death signal is tied to the thread that forked a child, not to the
// process, so children must not be forked from threads the Go runtime may
// retire. The thread is released (and the children signalled) only when the
// spawner stops, which happens after they were stopped.
type spawner struct {
	requests chan spawnRequest
	done     chan struct{}
}

type spawnRequest struct {
	cmd   *exec.Cmd
	reply chan error
}

func newSpawner() *spawner {
	s := &spawner{requests: make(chan spawnRequest), done: make(chan struct{})}
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with this goroutine
		for {
			select {
			case r := <-s.requests:
				r.reply <- r.cmd.Start()
			case <-s.done:
				return
			}
		}
	}()
	return s
}

func (s *spawner) start(cmd *exec.Cmd) error {
	reply := make(chan error, 1)
	select {
	case s.requests <- spawnRequest{cmd: cmd, reply: reply}:
		return <-reply
	case <-s.done:
		return errors.New("localfleet: fleet is stopping")
	}
}

func (s *spawner) stop() { close(s.done) }

// startProcess runs bin with args, its output going to logPath. A detached
// process gets its own session and no parent-death signal; any other gets
// its own process group and SIGKILL when the starter dies.
func startProcess(sp *spawner, component, bin string, args []string, logPath string, detach bool) (*process, error) {
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	defer func() { _ = logFile.Close() }() // the child holds its own descriptor
	cmd := exec.Command(bin, args...)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.Env = os.Environ()
	if detach {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	} else {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	}
	if err := sp.start(cmd); err != nil {
		return nil, fmt.Errorf("start %s: %w", component, err)
	}
	p := &process{Component: component, PID: cmd.Process.Pid, Log: logPath, Bin: bin, Args: args, Detached: detach, exited: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// running reports whether the process is still there.
func (p *process) running() bool {
	if p.exited != nil {
		select {
		case <-p.exited:
			return false
		default:
			return true
		}
	}
	return p.alive()
}

// alive reports, for a process found again through Load, whether its id
// still belongs to the binary we started: ids are reused, and signalling a
// stranger's process group would be a disaster.
func (p *process) alive() bool {
	if !pidAlive(p.PID) {
		return false
	}
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", p.PID))
	return err != nil || exe == p.Bin
}

// ProcessAlive reports whether a process with this id exists and is not a
// zombie (a process that has ended but was not reaped yet). Tests use it to
// check that a stopped fleet left nothing behind.
func ProcessAlive(pid int) bool { return pidAlive(pid) }

// pidAlive reports whether a process with this id exists and is not a zombie.
func pidAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	if err := syscall.Kill(pid, 0); err != nil {
		return errors.Is(err, syscall.EPERM)
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return !errors.Is(err, os.ErrNotExist)
	}
	return !isZombie(stat)
}

// isZombie reads the state field of /proc/PID/stat, which follows the
// command name in parentheses.
func isZombie(stat []byte) bool {
	for i := len(stat) - 1; i >= 0; i-- {
		if stat[i] == ')' {
			return i+2 < len(stat) && stat[i+2] == 'Z'
		}
	}
	return false
}

// stop asks the process group to end, then kills it after grace.
func (p *process) stop(grace time.Duration) error {
	if !p.running() {
		return nil
	}
	// The component leads its own group (Setpgid or Setsid): signal the group
	// so that anything it started ends too.
	_ = syscall.Kill(-p.PID, syscall.SIGTERM)
	if p.wait(grace) {
		return nil
	}
	_ = syscall.Kill(-p.PID, syscall.SIGKILL)
	if p.wait(10 * time.Second) {
		return nil
	}
	return fmt.Errorf("%s (pid %d) did not exit after SIGKILL", p.Component, p.PID)
}

// wait reports whether the process ended within d.
func (p *process) wait(d time.Duration) bool {
	if p.exited != nil {
		select {
		case <-p.exited:
			return true
		case <-time.After(d):
			return false
		}
	}
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if !p.alive() {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return !p.alive()
}
