package atlasotel

import atlas "github.com/atlas-accounting/atlas-go"

// Instrument is an atlas.Option that traces and measures every call of the
// client (and of its ForCompany copies) with OpenTelemetry. It is
// atlas.WithClientTrace with the trace NewClientTrace makes.
func Instrument(opts ...Option) atlas.Option {
	return atlas.WithClientTrace(NewClientTrace(opts...))
}

// WebhookOption is an atlas.WebhookOption that traces each delivery to the
// handler as a SERVER span and counts it. It is atlas.WithWebhookTrace with
// the trace NewWebhookTrace makes.
func WebhookOption(opts ...Option) atlas.WebhookOption {
	return atlas.WithWebhookTrace(NewWebhookTrace(opts...))
}
