package atlastest

// OnPause makes s call f whenever a request starts to wait out injected latency
// (DelayNext, SetLatency), so that a test can act while the server holds a request. Call it
// before the requests it is for.
func OnPause(s *Server, f func()) { s.faults.onPause = f }
