package peers

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// timeout bounds one wait for every application to be Ready.
const timeout = 45 * time.Minute

// fastClient is an admin client without client-side throttling, so that
// creating the applications takes as little of the measured time as it can.
func fastClient(b *testing.B, cfg *rest.Config, opts client.Options) client.Client {
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = -1, 0
	c, err := client.New(cfg, opts)
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// createAll creates the objects with eight workers.
func createAll(ctx context.Context, c client.Client, objs []client.Object) error {
	work := make(chan client.Object)
	errs := make(chan error, len(objs))
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for o := range work {
				if err := c.Create(ctx, o); err != nil {
					errs <- fmt.Errorf("create %s: %w", o.GetName(), err)
				}
			}
		})
	}
	for _, o := range objs {
		work <- o
	}
	close(work)
	wg.Wait()
	close(errs)
	return <-errs
}

// waitAll polls count until it reaches n, and returns when it did.
func waitAll(ctx context.Context, n int, count func(context.Context) (int, error)) (time.Time, error) {
	last := 0
	err := wait.PollUntilContextTimeout(ctx, time.Second, timeout, true, func(ctx context.Context) (bool, error) {
		got, err := count(ctx)
		if err != nil {
			return false, nil
		}
		last = got
		return got >= n, nil
	})
	if err != nil {
		return time.Time{}, fmt.Errorf("%d of %d Ready: %w", last, n, err)
	}
	return time.Now(), nil
}

// program is a peer's controller running beside the cluster.
type program struct {
	cmd *exec.Cmd
	log string
}

// start runs bin with args and env added to this process's environment,
// logging to dir/NAME.log; it dies with the benchmark.
func start(dir, bin string, args, env []string) (*program, error) {
	log := filepath.Join(dir, filepath.Base(bin)+".log")
	f, err := os.OpenFile(log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	return &program{cmd: cmd, log: log}, nil
}

// stop ends the program: SIGTERM, then SIGKILL after 20s.
func (p *program) stop() {
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
}

// tail is the end of the program's log, for a failure message.
func (p *program) tail() string {
	data, _ := os.ReadFile(p.log)
	if len(data) > 4000 {
		data = data[len(data)-4000:]
	}
	return string(data)
}
