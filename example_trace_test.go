package atlas_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"time"

	atlas "github.com/atlas-accounting/atlas-go"
	"github.com/atlas-accounting/atlas-go/atlastest"
)

func ExampleWithClientTrace() {
	srv := atlastest.NewServer()
	defer srv.Close()

	// A trace of one's own: what each call did, and why it waited. A tracer
	// would open a span in CallStart and AttemptStart, return a context that
	// carries it, and end it in CallDone and AttemptDone (package atlasotel
	// does this for OpenTelemetry).
	trace := &atlas.ClientTrace{
		CallStart: func(ctx context.Context, info atlas.CallInfo) context.Context {
			fmt.Println("call", info.Operation, info.Method, info.Route)
			return ctx
		},
		AttemptStart: func(ctx context.Context, info atlas.AttemptInfo) context.Context {
			// Headers for the attempt's request, such as a W3C traceparent.
			info.Header.Set("Traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
			return ctx
		},
		AttemptDone: func(_ context.Context, info atlas.AttemptDoneInfo) {
			fmt.Printf("  attempt %d: %d %s\n", info.Resend, info.StatusCode, http.StatusText(info.StatusCode))
		},
		Wait: func(_ context.Context, info atlas.WaitInfo) {
			fmt.Println("  waited for", info.Reason)
		},
		TokenRenewalStart: func(ctx context.Context, info atlas.TokenRenewalInfo) context.Context {
			fmt.Println("  token renewal:", info.Kind)
			return ctx
		},
		CallDone: func(_ context.Context, info atlas.CallDoneInfo) {
			fmt.Printf("done %s: %d attempt(s), error: %v\n", info.Operation, info.Attempts, info.Err)
		},
	}
	c, err := atlas.NewClient(
		atlas.WithBaseURL(srv.URL),
		atlas.WithCredentials(srv.Email(), srv.Password()),
		atlas.WithCompany(srv.CompanyID()),
		atlas.WithHTTPClient(srv.Client()),
		atlas.WithRetry(atlas.RetryPolicy{MaxRetries: 2, MinBackoff: 10 * time.Millisecond}),
		atlas.WithClientTrace(trace),
	)
	if err != nil {
		log.Fatal(err)
	}

	srv.FailNext(1, http.StatusServiceUnavailable, atlastest.Matching("GET /companies/{id}"))
	if _, err := c.Companies.Get(context.Background(), srv.CompanyID()); err != nil {
		log.Fatal(err)
	}
	// Output:
	// call Companies.Get GET /companies/{id}
	//   token renewal: login
	// call Auth.Login POST /auth/login
	//   attempt 0: 200 OK
	// done Auth.Login: 1 attempt(s), error: <nil>
	//   waited for token_renewal
	//   attempt 0: 503 Service Unavailable
	//   waited for backoff
	//   attempt 1: 200 OK
	// done Companies.Get: 2 attempt(s), error: <nil>
}
