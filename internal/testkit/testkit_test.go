package testkit

import (
	"errors"
	"fmt"
	"sync"
	"testing"
)

func TestSyncBufferTakesConcurrentWrites(t *testing.T) {
	var b SyncBuffer
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = fmt.Fprintf(&b, "%d", i)
		}()
	}
	wg.Wait()
	if got := len(b.String()); got != 8 {
		t.Fatalf("got %d bytes, want 8", got)
	}
}

func TestGoHandsOnTheError(t *testing.T) {
	want := errors.New("boom")
	release := make(chan struct{})
	done := Go(func() error { <-release; return want })
	select {
	case err := <-done:
		t.Fatalf("done before fn returned: %v", err)
	default:
	}
	close(release)
	if err := <-done; !errors.Is(err, want) {
		t.Fatalf("got %v, want %v", err, want)
	}
}

func TestBuildContextEndsBeforeTheTestsDeadline(t *testing.T) {
	ctx, cancel := BuildContext(t)
	defer cancel()
	testDeadline, hasDeadline := t.Deadline()
	deadline, ok := ctx.Deadline()
	if hasDeadline != ok {
		t.Fatalf("the test has a deadline: %v; the context: %v", hasDeadline, ok)
	}
	if ok && !deadline.Before(testDeadline) {
		t.Fatalf("the context ends at %v, not before the test's deadline %v", deadline, testDeadline)
	}
}
