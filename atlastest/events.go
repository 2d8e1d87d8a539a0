package atlastest

// eventPeriodClosed is the period.closed webhook event. The other five event types of the
// contract (invoice.created, invoice.sent, invoice.paid, bill.approved, payment.received)
// get their constants beside the handlers that emit them.
const eventPeriodClosed = "period.closed"

// emit announces that a domain event happened: eventType is one of the contract's six
// event types and data the event's data object as the webhook schemas give it
// (InvoiceEventData, BillApprovedData, PaymentReceivedData, PeriodClosedData: ids as
// strings, dates as YYYY-MM-DD, timestamps as RFC 3339, amounts as JSON numbers such as
// 1500.0 (float64), never decimal strings).
//
// Handlers call it after they have released the store lock, in the order the events
// happened (payment.received before the invoice.paid it caused), once the change is
// final (never for a request that fails).
//
// It does not block: the event is queued for every subscriber (webhooks.go) and delivered
// from their goroutines.
func (s *Server) emit(eventType string, data map[string]any) {
	s.hooks.publish(eventType, data)
}

// emitted is an event a handler emits once it has released the store lock.
type emitted struct {
	eventType string
	data      map[string]any
}

// emitAll emits events in order, as emit does each.
func (s *Server) emitAll(events []emitted) {
	for _, e := range events {
		s.emit(e.eventType, e.data)
	}
}
