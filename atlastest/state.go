package atlastest

// Reset puts the server's records back as they were when it started: the customers,
// vendors, invoices, bills, journal entries, payments, periods and account balances of
// the seed (or of WithState). The Idempotency-Keys seen so far are forgotten with them.
// What is not data stays: users and their tokens, the clock, the rate-limit windows,
// injected faults, the request log, webhook subscriptions and deliveries; each has a
// method of its own. Requests in flight during a Reset see the records before or after
// it, never a mix.
func (s *Server) Reset() {
	st := s.st
	st.mu.Lock()
	if st.initial != nil {
		st.replaceWith(st.initial.clone())
	}
	st.mu.Unlock()
	s.idem.forget()
}
