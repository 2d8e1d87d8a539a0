package atlasredis

import (
	"context"
	"testing"
	"time"
)

// BenchmarkLimiterWait measures what one Wait costs: its time, allocations
// and Redis round trips (roundtrips/op, counted by a go-redis hook), on a
// budget that never runs out.
//
//	go test -run '^$' -bench LimiterWait -benchmem ./atlasredis/
func BenchmarkLimiterWait(b *testing.B) {
	for _, bc := range []struct {
		name     string
		parallel bool
	}{{"serial", false}, {"parallel", true}} {
		b.Run(bc.name, func(b *testing.B) {
			rdb := newTestClient(b)
			var rt roundTrips
			rdb.AddHook(&rt)
			l, err := NewLimiter(rdb, testKey(b), 1_000_000_000, 1_000_000, time.Minute, WithLimiterTimeout(testTimeout))
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			if err := l.Wait(ctx); err != nil { // loads the script
				b.Fatal(err)
			}
			rt.n.Store(0)
			b.ReportAllocs()
			b.ResetTimer()
			if bc.parallel {
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if err := l.Wait(ctx); err != nil {
							b.Error(err)
							return
						}
					}
				})
			} else {
				for range b.N {
					if err := l.Wait(ctx); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(rt.n.Load())/float64(b.N), "roundtrips/op")
		})
	}
}
