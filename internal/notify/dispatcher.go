package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
)

// Routes lists the Notifications of a namespace (from a cache: Emit calls
// it for every event).
type Routes interface {
	Notifications(ctx context.Context, namespace string) ([]flotillav1.Notification, error)
}

// Secrets reads the Secret a Notification names, once the rules allow it;
// nil data when it names none.
type Secrets interface {
	SecretData(ctx context.Context, n *flotillav1.Notification) (map[string][]byte, error)
}

// Recorder writes the outcome of a delivery into the Notification's status.
type Recorder interface {
	Record(ctx context.Context, n *flotillav1.Notification, d flotillav1.NotificationDelivery) error
}

// Options configure a Dispatcher. Start from DefaultOptions.
type Options struct {
	Routes   Routes
	Secrets  Secrets  // nil: no Notification may name a Secret
	Recorder Recorder // nil: outcomes are only logged
	// Addresses decides which addresses providers may be sent to.
	Addresses AddressRule
	// Attempts bounds the requests for one event, the first included;
	// Backoff is the wait before the first retry, doubled at each one up
	// to MaxBackoff.
	Attempts   int
	Backoff    time.Duration
	MaxBackoff time.Duration
	// Window is how long the same event (same name, subject, cluster,
	// revision and object) is sent only once per Notification.
	Window time.Duration
	// PerMinute and Burst bound what one Notification sends: Burst at
	// once, then PerMinute a minute. The rest is dropped, and logged.
	PerMinute int
	Burst     int
	// Queue bounds the events waiting to be sent; past it they are
	// dropped, and logged. Workers send at once.
	Queue   int
	Workers int
	Log     *slog.Logger
	// Now is the clock of the limiter; nil means time.Now.
	Now func() time.Time
}

// DefaultOptions: 5 attempts, 1s to 30s apart; the same event once per 10
// minutes; 10 events at once then 20 a minute per Notification; 512 events
// queued, 4 sent at once.
func DefaultOptions() Options {
	return Options{
		Attempts: 5, Backoff: time.Second, MaxBackoff: 30 * time.Second,
		Window: 10 * time.Minute, PerMinute: 20, Burst: 10,
		Queue: 512, Workers: 4, Log: slog.Default(),
	}
}

func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if o.Attempts < 1 {
		o.Attempts = d.Attempts
	}
	if o.Backoff <= 0 {
		o.Backoff = d.Backoff
	}
	if o.MaxBackoff < o.Backoff {
		o.MaxBackoff = max(d.MaxBackoff, o.Backoff)
	}
	if o.Window <= 0 {
		o.Window = d.Window
	}
	if o.PerMinute < 1 {
		o.PerMinute = d.PerMinute
	}
	if o.Burst < 1 {
		o.Burst = d.Burst
	}
	if o.Queue < 1 {
		o.Queue = d.Queue
	}
	if o.Workers < 1 {
		o.Workers = d.Workers
	}
	if o.Log == nil {
		o.Log = d.Log
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Dispatcher routes events to the Notifications that ask for them and
// sends them, in the background. It is a Sink, and a manager Runnable:
// Start runs its workers until the context ends.
type Dispatcher struct {
	opts    Options
	client  *http.Client
	limit   *limiter
	queue   chan job
	dropped atomic.Int64
}

type job struct {
	n  *flotillav1.Notification
	ev Event
}

// New makes a Dispatcher; nothing is sent until Start.
func New(opts Options) *Dispatcher {
	opts = opts.withDefaults()
	return &Dispatcher{
		opts:   opts,
		client: newHTTPClient(opts.Addresses),
		limit:  newLimiter(opts.Window, opts.PerMinute, opts.Burst, opts.Now),
		queue:  make(chan job, opts.Queue),
	}
}

// Emit routes ev to every Notification of its namespace that asks for it,
// and queues it for each, unless it is a duplicate within the window, over
// the Notification's rate, or the queue is full. It never blocks on a
// delivery.
func (d *Dispatcher) Emit(ctx context.Context, ev Event) {
	ev = ev.normalize(d.opts.Now())
	list, err := d.opts.Routes.Notifications(ctx, ev.Namespace)
	if err != nil {
		d.opts.Log.Info("notification routes not listed", "event", ev.Name, "namespace", ev.Namespace, "error", err)
		return
	}
	for i := range list {
		n := &list[i]
		if !Matches(n, ev) {
			continue
		}
		route := n.Namespace + "/" + n.Name
		if v := d.limit.allow(route, ev.key()); v != verdictPass {
			d.dropped.Add(1)
			d.opts.Log.Info("notification not sent", "notification", route, "event", ev.Name, "subject", ev.Subject(), "why", v)
			continue
		}
		select {
		case d.queue <- job{n: n.DeepCopy(), ev: ev}:
		default:
			d.dropped.Add(1)
			d.opts.Log.Info("notification not sent", "notification", route, "event", ev.Name, "subject", ev.Subject(), "why", "queue full")
		}
	}
}

// Dropped counts the events not sent: duplicates, over a rate, or past a
// full queue.
func (d *Dispatcher) Dropped() int64 { return d.dropped.Load() }

// Start sends queued events with Options.Workers workers until ctx ends.
func (d *Dispatcher) Start(ctx context.Context) error {
	done := make(chan struct{})
	for range d.opts.Workers {
		go func() {
			defer func() { done <- struct{}{} }()
			for {
				select {
				case <-ctx.Done():
					return
				case j := <-d.queue:
					d.process(ctx, j)
				}
			}
		}()
	}
	for range d.opts.Workers {
		<-done
	}
	return nil
}

// process sends one event for one Notification and records the outcome.
func (d *Dispatcher) process(ctx context.Context, j job) {
	attempts, err := d.send(ctx, j)
	if ctx.Err() != nil {
		return
	}
	rec := flotillav1.NotificationDelivery{
		Event: j.ev.Name, Subject: j.ev.Subject(), Outcome: flotillav1.DeliveryDelivered,
		Time: nowMeta(d.opts.Now()), Attempts: int32(attempts),
	}
	route := j.n.Namespace + "/" + j.n.Name
	if err != nil {
		rec.Outcome, rec.Message = flotillav1.DeliveryFailed, cut(err.Error(), 1024)
		d.opts.Log.Info("notification failed", "notification", route, "event", j.ev.Name, "subject", j.ev.Subject(), "attempts", attempts, "error", err)
	}
	if d.opts.Recorder == nil {
		return
	}
	if err := d.opts.Recorder.Record(ctx, j.n, rec); err != nil {
		d.opts.Log.Info("notification status not written", "notification", route, "error", err)
	}
}

// send builds the provider and sends the event, retrying with backoff
// what may succeed later. It returns how many requests were made.
func (d *Dispatcher) send(ctx context.Context, j job) (int, error) {
	var secret map[string][]byte
	if j.n.Spec.Provider.SecretRef != nil {
		if d.opts.Secrets == nil {
			return 0, fmt.Errorf("%w: Secrets cannot be read here", ErrInvalidProvider)
		}
		s, err := d.opts.Secrets.SecretData(ctx, j.n)
		if err != nil {
			return 0, err
		}
		secret = s
	}
	p, err := newProvider(j.n.Spec.Provider, secret)
	if err != nil {
		return 0, err
	}
	msg := Message{Event: j.ev, Text: d.text(ctx, j)}
	wait := d.opts.Backoff
	for attempt := 1; ; attempt++ {
		err = p.send(ctx, d.client, msg)
		if err == nil || attempt >= d.opts.Attempts || !retryable(err) {
			return attempt, err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return attempt, ctx.Err()
		case <-t.C:
		}
		wait = min(2*wait, d.opts.MaxBackoff)
	}
}

// text is the event's message through the Notification's template, or
// its own message when there is none or the template fails (the event
// is not lost; the Notification's status says what is wrong with it).
func (d *Dispatcher) text(ctx context.Context, j job) string {
	if j.n.Spec.Template == "" {
		return DefaultText(j.ev)
	}
	t, err := CompileTemplate(j.n.Spec.Template)
	if err == nil {
		var s string
		if s, err = t.Execute(ctx, j.ev); err == nil {
			return s
		}
	}
	d.opts.Log.Info("notification template failed", "notification", j.n.Namespace+"/"+j.n.Name, "error", err)
	return DefaultText(j.ev)
}

// DefaultText is the message of an event when its Notification has no
// template: its own message, bounded.
func DefaultText(ev Event) string {
	if ev.Message == "" {
		return title(ev)
	}
	return cut(ev.Message, MaxMessageSize)
}

// errNoRoutes is what a Dispatcher without Routes answers.
var errNoRoutes = errors.New("no routes")

// Static is Routes of a fixed list, for a caller that has its
// Notifications at hand (tests, a CLI).
type Static []flotillav1.Notification

// Notifications returns those of the list in namespace.
func (s Static) Notifications(_ context.Context, namespace string) ([]flotillav1.Notification, error) {
	if s == nil {
		return nil, errNoRoutes
	}
	var out []flotillav1.Notification
	for _, n := range s {
		if n.Namespace == namespace {
			out = append(out, n)
		}
	}
	return out, nil
}
