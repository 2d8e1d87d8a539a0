package atlasredis

import (
	"context"
	"testing"
	"time"

	atlas "github.com/atlas-accounting/atlas-go"
	"github.com/atlas-accounting/atlas-go/atlastest"
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

// BenchmarkClientLimiter measures a call of an atlas.Client (GET /auth/me on
// atlastest in this process, which limits nothing) with its built-in pacer
// and with a Limiter in Redis: what sharing the budget adds to a call, and
// its Redis round trips per call.
//
//	go test -run '^$' -bench ClientLimiter -benchmem ./atlasredis/
func BenchmarkClientLimiter(b *testing.B) {
	srv := atlastest.NewServer()
	b.Cleanup(srv.Close)
	for _, bc := range []struct {
		name  string
		redis bool
	}{{"local-pacer", false}, {"atlasredis", true}} {
		b.Run(bc.name, func(b *testing.B) {
			opts := []atlas.Option{
				atlas.WithBaseURL(srv.URL),
				atlas.WithCredentials(srv.Email(), srv.Password()),
				atlas.WithRateLimit(1_000_000_000, 1_000_000, time.Minute),
			}
			var rt roundTrips
			if bc.redis {
				rdb := newTestClient(b)
				rdb.AddHook(&rt)
				l, err := NewLimiter(rdb, testKey(b), 1_000_000_000, 1_000_000, time.Minute, WithLimiterTimeout(testTimeout))
				if err != nil {
					b.Fatal(err)
				}
				opts = append(opts, atlas.WithLimiter(l))
			}
			c, err := atlas.NewClient(opts...)
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			if _, err := c.Auth.Me(ctx); err != nil { // logs in, loads the script
				b.Fatal(err)
			}
			rt.n.Store(0)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if _, err := c.Auth.Me(ctx); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(rt.n.Load())/float64(b.N), "roundtrips/op")
		})
	}
}
