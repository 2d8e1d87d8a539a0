package atlas

import (
	"io"
	"net/http"
	"sync"
)

// readAnswer reads resp's body to its end, or past the cap (maxResponseBody
// for a 2xx, maxErrorBody for any other answer), and closes it. The
// transport calls it within the attempt, so that a body cut short (the
// connection reset, the attempt timeout run out) fails the attempt as a
// dropped connection does, and is retried as one (checkRetry). It reads
// into b, or into a new answerBody when b is nil.
func readAnswer(resp *http.Response, b *answerBody) *answerBody {
	ok := resp.StatusCode >= 200 && resp.StatusCode <= 299
	limit := int64(maxErrorBody)
	if ok {
		limit = maxResponseBody
	}
	size := resp.ContentLength
	if resp.Request != nil && resp.Request.Method == http.MethodHead {
		size = 0 // the length of the body a GET would get
	}
	if b == nil {
		b = new(answerBody)
	}
	// Of an error answer past the cap the start is kept: it says what went
	// wrong. Of a 2xx past it, nothing is: the call fails.
	b.data, b.seg, b.truncated, b.err = readBody(resp.Body, limit, size, !ok)
	if b.truncated || b.err != nil {
		drain(resp.Body)
	} else {
		_ = resp.Body.Close()
	}
	return b
}

// answerBody is an answer's body as readAnswer read it.
type answerBody struct {
	data      []byte
	off       int
	seg       *[]byte // the pooled segment data lives in, if it does
	truncated bool    // the body went on past the cap; the rest was not read
	err       error   // the body was cut short: why
}

// Read reads what was read, then reports the body's end or why it was cut.
func (b *answerBody) Read(p []byte) (int, error) {
	if b.off >= len(b.data) {
		if b.err != nil {
			return 0, b.err
		}
		return 0, io.EOF
	}
	n := copy(p, b.data[b.off:])
	b.off += n
	return n, nil
}

// Close gives the pooled segment back; the body is empty from then on.
func (b *answerBody) Close() error {
	if b.seg != nil {
		segPool.Put(b.seg)
		b.seg = nil
	}
	b.data, b.off = nil, 0
	return nil
}

// Segments a body is read into: the first from a pool (most answers fit in
// it, and then reading them allocates nothing), the next ones each twice as
// large as the one before, up to maxSegment, and never beyond the cap; a
// body in more than one is copied into one slice of its size at the end.
// So a body costs about twice its size at most, and one past the cap (a
// small gzip answer that inflates without end, say) the cap and no more.
const (
	firstSegment = 128 << 10
	maxSegment   = 4 << 20
)

var segPool = sync.Pool{New: func() any { b := make([]byte, firstSegment); return &b }}

// readBody reads r to its end, or until it has read more than limit bytes
// (truncated). size is the length the answer announced, -1 for none: a body
// of a known size within the cap is read into one slice of that size, and
// one announced past it is not read at all unless keepPartial, which keeps
// the first limit bytes of a body past the cap. data lives in seg, when seg
// is not nil, until seg goes back to segPool.
func readBody(r io.Reader, limit, size int64, keepPartial bool) (data []byte, seg *[]byte, truncated bool, err error) {
	if size > limit && !keepPartial {
		return nil, nil, true, nil
	}
	var cur []byte
	switch {
	case size >= firstSegment && size <= limit:
		cur = make([]byte, size+1) // +1: to see a body that goes on past what it announced
	default:
		seg = segPool.Get().(*[]byte)
		cur = (*seg)[:min(int64(len(*seg)), limit+1)]
	}
	var (
		full  [][]byte // segments filled, before cur
		total int64    // bytes in full
		n     int      // bytes in cur
	)
	for {
		if n == len(cur) {
			if total+int64(n) > limit {
				truncated = true
				break
			}
			full = append(full, cur)
			total += int64(n)
			cur = make([]byte, min(max(2*int64(len(cur)), firstSegment), maxSegment, limit+1-total))
			n = 0
		}
		var m int
		m, err = r.Read(cur[n:])
		n += m
		if err == io.EOF {
			err = nil
			break
		}
		if err != nil {
			break
		}
	}
	length := total + int64(n)
	if truncated {
		if !keepPartial {
			if seg != nil {
				segPool.Put(seg)
			}
			return nil, nil, true, nil
		}
		length = limit
	}
	if len(full) == 0 {
		return cur[:length], seg, truncated, err
	}
	data = make([]byte, 0, length)
	for _, s := range append(full, cur[:n]) {
		data = append(data, s[:min(int64(len(s)), length-int64(len(data)))]...)
	}
	if seg != nil {
		segPool.Put(seg)
	}
	return data, nil, truncated, err
}
