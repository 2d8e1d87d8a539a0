package atlastest

import "strings"

// OnPause makes s call f whenever a request starts to wait out injected latency
// (DelayNext, SetLatency), so that a test can act while the server holds a request. Call it
// before the requests it is for.
func OnPause(s *Server, f func()) { s.faults.onPause = f }

// ControlPatterns lists the control API's operations as "METHOD /_atlastest/path".
func ControlPatterns(s *Server) []string {
	var out []string
	for _, rt := range s.controlTable() {
		method, path, _ := strings.Cut(rt.pattern, " ")
		out = append(out, method+" /_atlastest"+path)
	}
	return out
}

// OnControlWait makes s call f whenever a control request starts to wait for webhook
// deliveries. Call it before the requests it is for.
func OnControlWait(s *Server, f func()) { s.onControlWait = f }
