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
