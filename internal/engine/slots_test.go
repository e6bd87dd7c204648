package engine

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
)

// TestSlotsWakeInOrder: a sync that finds every slot taken is put in line
// once, and each slot given back wakes the next in line, in order; the
// line is emptied, waking everyone, when the cluster's clients go.
func TestSlotsWakeInOrder(t *testing.T) {
	var mu sync.Mutex
	var woken []string
	s := newSlots(2, func(app types.NamespacedName) {
		mu.Lock()
		defer mu.Unlock()
		woken = append(woken, app.Name)
	})
	app := func(name string) types.NamespacedName { return types.NamespacedName{Namespace: "ns", Name: name} }
	if !s.take(app("a")) || !s.take(app("b")) {
		t.Fatal("two slots: the first two takes must succeed")
	}
	if !s.full(app("c")) || s.take(app("d")) || s.take(app("c")) || s.take(app("e")) {
		t.Fatal("every slot is taken: full must say so and take must fail")
	}
	s.give()
	s.give()
	if want := []string{"c", "d"}; !slices.Equal(woken, want) {
		t.Fatalf("woken %v after two slots were given back, want %v: in line once each, in order", woken, want)
	}
	if s.full(app("f")) {
		t.Fatal("both slots were given back: not full")
	}
	s.wakeAll()
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		got := slices.Clone(woken)
		mu.Unlock()
		if slices.Equal(got, []string{"c", "d", "e"}) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("woken %v after wakeAll, want e woken too", got)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestSlotsPassTheTurn: a woken sync that ends without taking a slot (its
// fetch failed) hands its turn to the next in line while a slot is free,
// and nobody is woken while every slot is taken.
func TestSlotsPassTheTurn(t *testing.T) {
	var woken []string
	s := newSlots(1, func(app types.NamespacedName) { woken = append(woken, app.Name) })
	app := func(name string) types.NamespacedName { return types.NamespacedName{Namespace: "ns", Name: name} }
	if !s.take(app("a")) || s.take(app("b")) || s.take(app("c")) {
		t.Fatal("one slot: only the first take succeeds")
	}
	s.pass()
	if len(woken) != 0 {
		t.Fatalf("woken %v while the only slot is taken", woken)
	}
	s.give()
	if want := []string{"b"}; !slices.Equal(woken, want) {
		t.Fatalf("woken %v once the slot was given back, want %v", woken, want)
	}
	// b's sync ends before it takes the slot: it passes its turn to c.
	s.pass()
	if want := []string{"b", "c"}; !slices.Equal(woken, want) {
		t.Fatalf("woken %v after b ended without a slot, want %v", woken, want)
	}
}

// TestSlotsServedLeaveTheLine: an Application that gets a slot by itself
// (its own retry, a drift event) while in line gives its place up, and one
// deleted while in line is forgotten: the wake-ups go to those still
// waiting.
func TestSlotsServedLeaveTheLine(t *testing.T) {
	var woken []string
	s := newSlots(1, func(app types.NamespacedName) { woken = append(woken, app.Name) })
	app := func(name string) types.NamespacedName { return types.NamespacedName{Namespace: "ns", Name: name} }
	if !s.take(app("a")) || s.take(app("b")) || s.take(app("c")) || s.take(app("d")) {
		t.Fatal("one slot: only the first take succeeds")
	}
	s.give() // wakes b; before b comes, c takes the slot by itself
	if !s.take(app("c")) {
		t.Fatal("the slot given back is free")
	}
	if s.take(app("b")) {
		t.Fatal("c holds the only slot")
	}
	s.forget(app("d"))
	s.give() // c was served and d deleted: b, in line again, is next
	if want := []string{"b", "b"}; !slices.Equal(woken, want) {
		t.Fatalf("woken %v, want %v: c was served and d forgotten", woken, want)
	}
}

// TestSyncEndWakesOnce: a sync that took a slot and ends wakes one
// Application in line, not two (giving the slot back woke the next; the
// end of the sync does not pass a turn it did not hold).
func TestSyncEndWakesOnce(t *testing.T) {
	var woken []string
	entry := &managerEntry{slots: newSlots(1, func(app types.NamespacedName) { woken = append(woken, app.Name) })}
	s := newState(Request{App: &flotillav1.Application{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "a"}}})
	s.target = entry
	if err := (&Engine{}).takeSlot(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"b", "c"} {
		if entry.slots.take(types.NamespacedName{Namespace: "ns", Name: name}) {
			t.Fatalf("%s took the slot a holds", name)
		}
	}
	s.release()
	s.passTurn()
	if want := []string{"b"}; !slices.Equal(woken, want) {
		t.Fatalf("woken %v when a's sync ended, want %v", woken, want)
	}
}
