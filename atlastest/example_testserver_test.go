package atlastest_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"testing"
	"testing/synctest"
	"time"

	atlas "github.com/atlas-accounting/atlas-go"
	"github.com/atlas-accounting/atlas-go/atlastest"
)

// In a test, build the server and the client inside a synctest bubble: the calls, the
// client's pauses and the server's clock all run on the bubble's clock, so hours of the
// API's time pass in milliseconds. (An example has no *testing.T to run a bubble with;
// the root package's TestBubble tests run this code.)
func ExampleNewTestServer() {
	var t *testing.T // the test's
	synctest.Test(t, func(t *testing.T) {
		srv := atlastest.NewTestServer(t, atlastest.WithPlan(atlastest.TierStandard, 0))
		c, err := atlas.NewClient(
			atlas.WithBaseURL(srv.URL), // http://127.0.0.1:0/api/v1: only srv.Client() reaches it
			atlas.WithHTTPClient(srv.Client()),
			atlas.WithCredentials(srv.Seed().Email, srv.Seed().Password),
			atlas.WithCompany(srv.CompanyID()),
		)
		if err != nil {
			t.Fatal(err)
		}

		// 80 calls: the 20 past the plan's 60 a minute wait for the next window.
		for range 80 {
			if _, err := c.Auth.Me(t.Context()); err != nil {
				t.Fatal(err)
			}
		}
		// The access token expires after an hour on the server: the client renews it.
		time.Sleep(2 * time.Hour)
		if _, err := c.Auth.Me(t.Context()); err != nil {
			t.Fatal(err)
		}
		t.Log(srv.Now()) // 2000-01-01 02:01:21.5 UTC: a bubble starts at 2000-01-01
	})
}

// SubscribeHandler delivers webhooks to a handler without a socket: in a synctest bubble
// its retries wait on the bubble's clock. Here, on a server of NewServer, they wait in
// real time.
func ExampleServer_SubscribeHandler() {
	srv := atlastest.NewServer(atlastest.WithWebhookRetry(3, time.Millisecond))
	defer srv.Close()

	failed := false
	h, err := atlas.NewWebhookHandler(srv.WebhookSecret(), func(context.Context, *atlas.WebhookEvent) error {
		if !failed { // deliveries to a subscriber come one at a time
			failed = true
			return errors.New("the database is down") // a 500: the server retries
		}
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := srv.SubscribeHandler(h, string(atlas.EventPeriodClosed)); err != nil {
		log.Fatal(err)
	}

	c, err := atlas.NewClient(
		atlas.WithBaseURL(srv.URL),
		atlas.WithHTTPClient(srv.Client()),
		atlas.WithCredentials(srv.Email(), srv.Password()),
		atlas.WithCompany(srv.CompanyID()),
	)
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	periods, err := c.Periods.List(ctx, nil)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := c.Periods.Close(ctx, periods.Items[0].ID); err != nil {
		log.Fatal(err)
	}
	if err := srv.WaitWebhooks(ctx); err != nil {
		log.Fatal(err)
	}
	for _, d := range srv.Deliveries() {
		fmt.Println(d.Event, "attempt", d.Attempt, "status", d.Status)
	}
	// Output:
	// period.closed attempt 1 status 500
	// period.closed attempt 2 status 204
}

// WithStartTime starts the server's clock on a date of the test's choosing; it then
// moves with time.Now, which a synctest bubble drives.
func ExampleWithStartTime() {
	srv := atlastest.NewServer(atlastest.WithStartTime(time.Date(2026, time.January, 15, 9, 0, 0, 0, time.UTC)))
	defer srv.Close()
	fmt.Println(srv.Now().Format(time.DateOnly))
	// Output:
	// 2026-01-15
}
