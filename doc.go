// Package atlas is the official Go client for the Atlas Accounting REST API.
//
// A Client logs in lazily, refreshes its tokens before they expire, paces
// itself to the plan's rate limit, retries what is safe to retry (every POST
// carries an Idempotency-Key, so a retried create never makes a duplicate),
// and turns every non-2xx answer into an *Error that works with errors.Is and
// errors.As. Money is decimal.Decimal and calendar dates are Date.
//
// The package atlastest provides an in-process fake Atlas server for tests.
package atlas
